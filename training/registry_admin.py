"""Everyday registry verbs behind `tweetcare models list|rollback`: what is registered, and
putting `@champion` back on the version before it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from tweetcare.core.contract import CHAMPION, DECISION_TAG, REASON_TAG
from tweetcare.core.errors import UserError


@dataclass(frozen=True)
class VersionRow:
    """One registered version, as `models list` shows it."""

    model: str
    version: str
    aliases: list[str]
    run_id: str | None
    created: str  # UTC, ISO 8601
    decision: str | None  # the gate's DECISION_TAG, when it judged the version


@dataclass(frozen=True)
class Rollback:
    """One `@champion` move back: on which model, from and to which version, by whom, why."""

    model: str
    from_version: str
    to_version: str
    by: str
    reason: str


def list_versions(client: MlflowClient, name: str | None = None) -> list[VersionRow]:
    """Every version of every registered model (or of `name`), models by name, newest first."""
    names = [name] if name else sorted(m.name for m in client.search_registered_models())
    rows: list[VersionRow] = []
    for model in names:
        aliases = _aliases_by_version(client, model)
        versions = client.search_model_versions(f"name = '{model}'")
        for v in sorted(versions, key=lambda v: int(v.version), reverse=True):
            rows.append(
                VersionRow(
                    model=model,
                    version=str(v.version),
                    aliases=sorted(aliases.get(str(v.version), [])),
                    run_id=v.run_id or None,
                    created=datetime.fromtimestamp(v.creation_timestamp / 1000, UTC).isoformat(),
                    decision=(v.tags or {}).get(DECISION_TAG),
                )
            )
    return rows


def _aliases_by_version(client: MlflowClient, model: str) -> dict[str, list[str]]:
    try:
        registered = client.get_registered_model(model)
    except MlflowException as err:
        raise UserError(f"no registered model {model!r} in the registry") from err
    found: dict[str, list[str]] = {}
    for alias, version in (registered.aliases or {}).items():
        found.setdefault(str(version), []).append(alias)
    return found


def rollback_champion(client: MlflowClient, model: str, by: str) -> Rollback:
    """Move `model@champion` to the newest version older than the current champion; the
    version it lands on is tagged with the decision and who rolled back, for the audit."""
    aliases = _aliases_by_version(client, model)
    current = next((v for v, names in aliases.items() if CHAMPION in names), None)
    if current is None:
        raise UserError(f"{model} has no @{CHAMPION} to roll back")
    older = [
        int(v.version)
        for v in client.search_model_versions(f"name = '{model}'")
        if int(v.version) < int(current)
    ]
    if not older:
        raise UserError(f"{model}@{CHAMPION} is version {current}, its first: nothing before it")
    target = str(max(older))
    reason = f"rolled back from version {current} by {by}"
    client.set_registered_model_alias(model, CHAMPION, target)
    for key, value in ((DECISION_TAG, CHAMPION), (REASON_TAG, reason)):
        client.set_model_version_tag(model, target, key, value)
    return Rollback(model, current, target, by, reason)
