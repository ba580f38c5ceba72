"""Live sources for the `tweets` topic: the X API v2 filtered stream and mention timelines.

`rules` reads config/x_rules.yaml, `messages` turns an X tweet into the replay message format,
`backoff` is X's reconnect policy, `dedup` remembers recent tweet ids, `x_api` speaks HTTP and
`x_ingest` runs the stream and the mention polls against one Kafka producer.
"""
