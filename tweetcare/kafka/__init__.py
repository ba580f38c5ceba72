"""The Kafka side of tweetcare: a local KRaft broker, its topics and the replay producer."""
