"""The agent console: a Streamlit app over the model server, the ticket store, the lake and MLflow.

`data` holds the pure functions that compute what the pages show (unit-tested), `backends` the
reads and calls that reach the running services, and one module per page renders the result.
"""
