"""tweetcare: real-time customer care for Twitter/X on Kafka, Spark, BentoML and MLflow."""

__version__ = "0.1.0"
