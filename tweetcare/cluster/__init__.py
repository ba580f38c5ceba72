"""A production-shaped topology on this machine, all real and on loopback: a Spark standalone
master with two workers, three KRaft Kafka brokers, an S3 API server (moto), PostgreSQL and an
MLflow server. One small module per system; `topology` starts, stops and describes them together
and turns them into the Settings that point tweetcare at them (configuration only)."""
