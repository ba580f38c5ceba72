"""MLflow: the latest training comparison, the registered versions and their aliases."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from serving.config import AnalysisSettings
from tweetcare.core.contract import INBOUND_EXPERIMENT as EXPERIMENT
from tweetcare.core.contract import PARENT_RUN_TAG
from tweetcare.core.settings import Settings
from tweetcare.tickets.engine import sqlite_file
from tweetcare.ui.backends.errors import FILL_MLFLOW, MLFLOW, BackendDown
from tweetcare.ui.data import RunRecord, VersionRecord


@dataclass(frozen=True)
class ModelsSnapshot:
    parent: RunRecord | None
    runs: list[RunRecord]
    versions: list[VersionRecord]
    # the analysis models /analyze composes: registered name -> the version holding the alias
    analysis: dict[str, VersionRecord | None] = field(default_factory=dict)


def read_models(settings: Settings) -> ModelsSnapshot:
    """The latest training run's models and every registered version with its aliases and tags."""
    uri = settings.mlflow_tracking_uri
    require_tracking_store(uri)
    from mlflow.exceptions import MlflowException  # heavy: loaded only when the page is opened
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    try:
        experiment = client.get_experiment_by_name(EXPERIMENT)
        if experiment is None:
            raise BackendDown(MLFLOW, uri, f"no experiment `{EXPERIMENT}` yet", FILL_MLFLOW)
        runs = client.search_runs(
            [experiment.experiment_id], order_by=["attributes.start_time DESC"], max_results=500
        )
        versions = client.search_model_versions(f"name = '{settings.inbound_model}'")
        # search results leave `aliases` empty; the registered model holds alias -> version
        aliases = _aliases(client, settings.inbound_model) if versions else {}
    except MlflowException as err:
        raise BackendDown(MLFLOW, uri, str(err).splitlines()[0], FILL_MLFLOW) from err
    parent, children = latest_training_run([_run_record(r) for r in runs])
    records = [
        VersionRecord(
            str(v.version),
            v.run_id or "",
            tuple(sorted(a for a, n in aliases.items() if str(n) == str(v.version))),
            dict(v.tags or {}),
        )
        for v in versions
    ]
    records.sort(key=lambda v: int(v.version) if v.version.isdigit() else 0, reverse=True)
    return ModelsSnapshot(parent, children, records, _analysis_champions(client))


def _analysis_champions(client: Any) -> dict[str, VersionRecord | None]:
    from mlflow.exceptions import MlflowException

    names = AnalysisSettings()
    found: dict[str, VersionRecord | None] = {}
    for name in names.model_names.values():
        try:
            version = client.get_model_version_by_alias(name, names.analysis_model_alias)
        except MlflowException:
            found[name] = None  # not registered yet (stage train_analysis)
            continue
        alias = (names.analysis_model_alias,)
        found[name] = VersionRecord(str(version.version), version.run_id or "", alias, {})
    return found


def latest_training_run(runs: list[RunRecord]) -> tuple[RunRecord | None, list[RunRecord]]:
    """(parent, its direct child runs) of the newest top-level run with children; runs come
    newest first. Grandchildren (a family's raw-handles twin) stay out of the comparison, and a
    registry filled without nesting (flat runs) shows its newest run alone."""
    children: dict[str, list[RunRecord]] = {}
    for run in runs:
        parent_id = run.tags.get(PARENT_RUN_TAG)
        if parent_id:
            children.setdefault(parent_id, []).append(run)
    top_level = [run for run in runs if not run.tags.get(PARENT_RUN_TAG)]
    for run in top_level:
        if run.run_id in children:
            return run, sorted(children[run.run_id], key=lambda r: r.name)
    return None, top_level[:1]


def _aliases(client: Any, model_name: str) -> dict[str, str]:
    return {
        alias: str(v)
        for alias, v in (client.get_registered_model(model_name).aliases or {}).items()
    }


def _run_record(run: Any) -> RunRecord:
    return RunRecord(
        run_id=run.info.run_id,
        name=run.info.run_name or run.info.run_id[:8],
        metrics=dict(run.data.metrics),
        params=dict(run.data.params),
        tags=dict(run.data.tags),
    )


def require_tracking_store(uri: str) -> None:
    """A SQLite tracking URI must name an existing file: MLflow would create an empty one."""
    if not uri.startswith("sqlite:"):
        return
    path = sqlite_file(uri)
    if path is not None and not path.exists():
        raise BackendDown(MLFLOW, uri, "no tracking database yet", FILL_MLFLOW)
