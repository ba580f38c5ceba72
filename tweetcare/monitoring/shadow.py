"""Live evidence from shadow scoring: the champion and the challenger on the same lake tweets.

The server scores every tweet with both and the stream keeps both answers in the lake. Each
tweet's label is the source's own `inbound` flag (twcs records who wrote it), overruled by an
agent's correction where there is one, so the two models are compared on live traffic, not only
on the held-out split the offline gate saw.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd
from sklearn.metrics import f1_score

from tweetcare.core.contract import CHALLENGER, CHAMPION
from tweetcare.core.params import ShadowParams
from tweetcare.core.settings import Settings
from tweetcare.core.storage import TWEETS_TABLE, open_table
from tweetcare.tickets.corrections import list_corrections
from tweetcare.tickets.store import TicketStore

LABEL = "inbound"
CHAMPION_ANSWER, SHADOW_ANSWER = "predicted_inbound", "shadow_inbound"
CHAMPION_VERSION, SHADOW_VERSION = "model_version", "shadow_model_version"
COLUMNS = ["tweet_id", LABEL, CHAMPION_ANSWER, SHADOW_ANSWER, CHAMPION_VERSION, SHADOW_VERSION]
# set by `with_human_labels`: the row's label is an agent's correction
HUMAN = "human_label"


@dataclass(frozen=True)
class ShadowEvidence:
    """One champion/challenger pair on the tweets both scored."""

    champion_version: str
    challenger_version: str
    tweets: int
    agreement: float
    labelled: int
    # of the labelled tweets, how many carry an agent's correction rather than the source flag
    human_labelled: int
    champion_f1: float | None
    challenger_f1: float | None
    champion_accuracy: float | None
    challenger_accuracy: float | None
    # disagreements on labelled tweets: which side had it right
    champion_right_only: int
    challenger_right_only: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_shadow_scored(settings: Settings) -> pd.DataFrame:
    """The lake's tweets that have a shadow answer (none until the stream ran with one)."""
    table = open_table(settings, TWEETS_TABLE)
    if table is None:
        return pd.DataFrame(columns=COLUMNS)
    names = {field.name for field in table.schema().fields}
    if not set(COLUMNS) <= names:  # a lake written before shadow scoring existed
        return pd.DataFrame(columns=COLUMNS)
    frame = table.to_pyarrow_dataset().to_table(columns=COLUMNS).to_pandas()
    return frame[frame[SHADOW_ANSWER].notna()].reset_index(drop=True)


def human_labels(settings: Settings) -> dict[str, bool]:
    """Agents' inbound corrections from the ticket store: tweet id -> a customer's or not."""
    store = TicketStore(settings.tickets_db_url)
    try:
        rows = list_corrections(store)
    finally:
        store.close()
    return {r["tweet_id"]: r["after"] == "True" for r in rows if r["field"] == LABEL}


def with_human_labels(frame: pd.DataFrame, labels: dict[str, bool]) -> pd.DataFrame:
    """The frame with agents' labels in place of the source flag, and which rows have one."""
    agent = frame["tweet_id"].astype(str).map(labels)
    return frame.assign(**{LABEL: agent.where(agent.notna(), frame[LABEL]), HUMAN: agent.notna()})


def live_frame(settings: Settings) -> pd.DataFrame:
    """The shadow-scored lake tweets, labelled by agents' corrections where they exist."""
    return with_human_labels(read_shadow_scored(settings), human_labels(settings))


def registered_pair(settings: Settings) -> tuple[str | None, str | None]:
    """(champion version, challenger version) of the served model name; None where unset."""
    from mlflow.exceptions import MlflowException  # heavy: only when a report is asked for
    from mlflow.tracking import MlflowClient

    uri = settings.mlflow_tracking_uri
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    versions: list[str | None] = []
    for alias in (CHAMPION, CHALLENGER):
        try:
            versions.append(
                str(client.get_model_version_by_alias(settings.inbound_model, alias).version)
            )
        except MlflowException:
            versions.append(None)
    return versions[0], versions[1]


def evidence(frame: pd.DataFrame, champion_version: str, challenger_version: str) -> ShadowEvidence:
    """The pair's record on `frame` (rows scored by exactly these two versions)."""
    pair = frame[
        (frame[CHAMPION_VERSION].astype(str) == str(champion_version))
        & (frame[SHADOW_VERSION].astype(str) == str(challenger_version))
    ]
    champion = pair[CHAMPION_ANSWER].astype(bool)
    challenger = pair[SHADOW_ANSWER].astype(bool)
    labelled = pair[pair[LABEL].notna()]
    truth = labelled[LABEL].astype(bool)
    mine = labelled[CHAMPION_ANSWER].astype(bool)
    theirs = labelled[SHADOW_ANSWER].astype(bool)
    scored = not labelled.empty
    return ShadowEvidence(
        champion_version=str(champion_version),
        challenger_version=str(challenger_version),
        tweets=len(pair),
        agreement=float((champion == challenger).mean()) if len(pair) else 0.0,
        labelled=len(labelled),
        human_labelled=int(labelled[HUMAN].sum()) if HUMAN in labelled else 0,
        champion_f1=float(f1_score(truth, mine, zero_division=0)) if scored else None,
        challenger_f1=float(f1_score(truth, theirs, zero_division=0)) if scored else None,
        champion_accuracy=float((mine == truth).mean()) if scored else None,
        challenger_accuracy=float((theirs == truth).mean()) if scored else None,
        champion_right_only=int(((mine == truth) & (theirs != truth)).sum()),
        challenger_right_only=int(((theirs == truth) & (mine != truth)).sum()),
    )


def all_pairs(frame: pd.DataFrame) -> list[ShadowEvidence]:
    """Every champion/challenger pair the lake holds answers of, most tweets first."""
    if frame.empty:
        return []
    pairs = frame[[CHAMPION_VERSION, SHADOW_VERSION]].astype(str).drop_duplicates()
    found = [evidence(frame, c, s) for c, s in pairs.itertuples(index=False)]
    return sorted(found, key=lambda e: e.tweets, reverse=True)


def decide(found: ShadowEvidence, params: ShadowParams) -> tuple[bool, str]:
    """(promote, why): the live gate as a pure function."""
    if found.labelled < params.min_tweets:
        return False, (
            f"not enough live evidence: {found.labelled} labelled tweets scored by both "
            f"< {params.min_tweets} (shadow.min_tweets)"
        )
    assert found.champion_f1 is not None and found.challenger_f1 is not None
    gain = found.challenger_f1 - found.champion_f1
    figures = (
        f"live F1 {found.challenger_f1:.4f} vs {found.champion_f1:.4f} on {found.labelled} "
        f"tweets (gain {gain:+.4f})"
    )
    if gain <= params.min_f1_gain:
        return (
            False,
            f"challenger does not beat the champion by more than {params.min_f1_gain}: {figures}",
        )
    return True, f"challenger beats the champion: {figures}"


@dataclass(frozen=True)
class ShadowReport:
    """Every pair the lake holds answers of, and the live gate's verdict on the pair
    registered now (None without a challenger, or without a gate to judge by)."""

    champion_version: str | None
    challenger_version: str | None
    pairs: list[ShadowEvidence]
    verdict: tuple[bool, str] | None

    def to_dict(self) -> dict[str, Any]:
        promote, reason = self.verdict or (None, None)
        return {
            "champion_version": self.champion_version,
            "challenger_version": self.challenger_version,
            "pairs": [e.to_dict() for e in self.pairs],
            "promote": promote,
            "reason": reason,
        }


def shadow_report(settings: Settings, gate: ShadowParams | None) -> ShadowReport:
    """What `tweetcare models shadow-report` and the console's Models page show."""
    champion, challenger = registered_pair(settings)
    frame = live_frame(settings)
    verdict = None
    if champion and challenger and gate is not None:
        verdict = decide(evidence(frame, champion, challenger), gate)
    return ShadowReport(champion, challenger, all_pairs(frame), verdict)
