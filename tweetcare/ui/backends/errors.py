"""Which backend is down, where it was looked for, and the command that starts it."""

from __future__ import annotations

from tweetcare.core.redact import redact, redact_url

MODEL_SERVER = "model server (BentoML)"
TICKET_STORE = "ticket store"
LAKE = "Delta lake"
MLFLOW = "MLflow"
KAFKA = "Kafka"

START_MODEL_SERVER = (
    "start it with `tweetcare serve start` (it serves the registry's champion, so run "
    "`dvc repro` first), or run `tweetcare demo`"
)
FILL_TICKET_STORE = (
    "run `tweetcare demo` (or `tweetcare stream start` with Kafka and the model server running)"
)
FILL_LAKE = "the stream writes it: run `tweetcare demo` or `tweetcare stream start`"
FILL_MLFLOW = "run `dvc repro` to train and register the models (`tweetcare demo` runs it)"
FILL_MONITORING = (
    "run `tweetcare monitor run` (every few minutes, e.g. from cron) once the stream has filled "
    "the lake"
)
START_KAFKA = "start it with `tweetcare kafka start` (or run `tweetcare demo`)"


class BackendDown(Exception):
    """A backend is unreachable or empty; the message says which, where, and how to start it.
    Agents read it: a password in the URL or in the driver's message is masked here, once."""

    def __init__(self, backend: str, where: str, detail: str, hint: str) -> None:
        where, detail = redact_url(where), redact(detail)
        super().__init__(f"{backend} at {where}: {detail}")
        self.backend, self.where, self.detail, self.hint = backend, where, detail, hint
