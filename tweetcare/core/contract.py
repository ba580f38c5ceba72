"""The registry contract every model follows: the registered names, the aliases production serves
and is offered, the MLflow experiments the runs go to, and the tags the comparison, the gate and
the restore write.

Training writes these, and the server, the CLI and the console read them, so they are defined
here once. The registered names are params (`register.model_name`, `analysis.model_names`):
`registered_names` reads them for the services, which a `TWEETCARE_*` variable may override.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tweetcare.core.params import DEFAULT_PARAMS, load_params

# the alias the model server loads, and the one a gated-out candidate gets instead
CHAMPION = "champion"
CHALLENGER = "challenger"

# MLflow experiments: the inbound comparison (a parent run, one child per family) and the
# analysis models (one run per model)
INBOUND_EXPERIMENT = "tweet-inbound"
ANALYSIS_EXPERIMENT = "tweet-analysis"

# on the comparison's parent run: the family it picked
WINNER_TAG = "comparison.winner"
# MLflow's own tag linking a child run to its parent
PARENT_RUN_TAG = "mlflow.parentRunId"

# on a registered version: the gate's alias, why, and its whole record (rules and figures)
DECISION_TAG = "promotion.decision"
REASON_TAG = "promotion.reason"
RECORD_TAG = "promotion.record"
# on a registered version: the logged model it came from, so a lost registry can be restored
SOURCE_TAG = "tweetcare.source_model_uri"
# on every training run: the data version (data.dvc's hash) the model learned from
DATA_VERSION_TAG = "data.version"

# /model_info's key for the version scored in the shadow of the champion (its `shadow_alias`)
SHADOW_KEY = "shadow"
# /model_info's key for why /analyze answers 503 (missing analysis models); absent when it can
ANALYZE_UNAVAILABLE_KEY = "analyze_unavailable"
# on a registered version: the live shadow evidence `tweetcare models promote` decided on
SHADOW_RECORD_TAG = "promotion.shadow_record"


@dataclass(frozen=True)
class RegisteredNames:
    """Each model's registered name: what `dvc repro` registers and the services load."""

    inbound: str
    # role (sentiment, category, entities) -> name, in the order /analyze runs them
    analysis: dict[str, str]


def project_params_file() -> Path:
    """params.yaml of the working directory, else the project's own: the model server and the
    console may be started from anywhere (a Bento carries the file at its root)."""
    if DEFAULT_PARAMS.is_file():
        return DEFAULT_PARAMS
    return Path(__file__).resolve().parents[2] / DEFAULT_PARAMS


def registered_names(params_file: Path | None = None) -> RegisteredNames:
    """The names params.yaml gives the models (UserError when it is missing or invalid)."""
    params = load_params(params_file or project_params_file())
    return RegisteredNames(params.register_.model_name, dict(params.analysis.model_names))
