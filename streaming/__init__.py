"""The Spark Structured Streaming job (run by spark-submit); reaches models only over HTTP."""
