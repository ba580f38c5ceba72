"""The customer-tweet analysis models: sentiment, complaint category with ticket flags, entities.

Each is trained by `pipelines/train_analysis.py`, logged as an MLflow pyfunc whose output is a
DataFrame, and registered (`tweet-sentiment`, `tweet-category`, `tweet-entities`); the model
server composes them behind `/analyze`.
"""
