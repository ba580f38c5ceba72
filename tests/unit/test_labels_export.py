"""Label queue labels: kept in the corrections table with one audit entry each, in one
transaction; `tweetcare data labels export` writes them with the agents' ticket corrections as a
labelled set, merged with its earlier export."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.unit.test_tickets import brand_reply, customer
from tweetcare.cli import app
from tweetcare.core.errors import UserError
from tweetcare.core.settings import Settings
from tweetcare.data.labelled import LABELLED_COLUMNS
from tweetcare.tickets import TicketStore, audit
from tweetcare.tickets.corrections import Changes, correct_ticket, export_frame
from tweetcare.tickets.labels import (
    TweetLabel,
    label_tweet,
    labelled_tweet_ids,
    labels_frame,
    merge_labels,
)
from tweetcare.tickets.models import QUEUE_SOURCE, Correction, ticket_id_for
from tweetcare.tickets.replies import load_replies
from tweetcare.tickets.routing import load_routing

PARAMS_FILE = Path(__file__).resolve().parents[2] / "params.yaml"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TicketStore]:
    """One ticket (conversation 1, technical) and a brand reply in its thread."""
    settings = Settings()
    store = TicketStore(f"sqlite:///{tmp_path / 'tickets.db'}")
    store.create_schema()
    events = [customer("1", "1", 10, "@AppleSupport charged twice"), brand_reply("2", "1", 12)]
    store.apply(
        events,
        load_routing(settings.routing_config),
        load_replies(settings.replies_config),
        batch_id="b-1",
    )
    yield store
    store.close()


def lake_tweet(tweet_id: str, conversation_id: str, text: str, **model: Any) -> dict[str, Any]:
    """A lake row as the queue hands it over: the model's answers beside the tweet."""
    answers = {"category": "delivery", "sentiment": "neutral", "needs_ticket": False}
    return (
        {"tweet_id": tweet_id, "conversation_id": conversation_id, "text": text} | answers | model
    )


def test_a_label_is_one_row_per_answer_and_one_audit_entry(store: TicketStore) -> None:
    tweet = lake_tweet("50", "c-50", "@AmazonHelp parcel is late again", needs_ticket=None)
    rows = label_tweet(store, tweet, "ann", TweetLabel("delivery", "negative", True))

    # every answer is kept, the model's too: a confirmed answer is a label as well
    assert [(r["field"], r["before"], r["after"]) for r in rows] == [
        ("category", "delivery", "delivery"),
        ("sentiment", "neutral", "negative"),
        ("needs_ticket", None, "True"),
    ]
    with Session(store.engine) as session:
        kept = session.scalars(select(Correction).where(Correction.tweet_id == "50")).all()
    assert {(c.source, c.ticket_id, c.agent, c.text) for c in kept} == {
        (QUEUE_SOURCE, None, "ann", "@AmazonHelp parcel is late again")
    }
    # no ticket in its conversation: the audit entry is filed under the tweet
    (entry,) = audit.trail(store.url, "50")
    assert (entry.actor, entry.action, entry.target_id, entry.detail) == (
        "ann",
        "label",
        "50",
        "delivery, negative, needs a ticket",
    )
    assert [e.target_id for e in audit.recent(store.url, audit.LABEL)] == ["50"]
    assert "50" in labelled_tweet_ids(store)
    # the corrections export for tickets is unchanged by a queue label
    assert export_frame(store).empty


def test_a_label_in_a_ticket_conversation_shows_on_the_ticket(store: TicketStore) -> None:
    label_tweet(
        store,
        lake_tweet("1", "1", "@AppleSupport charged twice"),
        "bo",
        TweetLabel("billing", "negative", True),
    )
    entries = audit.trail(store.url, ticket_id_for("1"))
    assert [(e.action, e.target_id, e.actor) for e in entries] == [("label", "1", "bo")]


def test_a_tweet_is_labelled_once_and_a_refused_label_leaves_nothing(store: TicketStore) -> None:
    tweet = lake_tweet("60", "c-60", "@AmazonHelp thanks, all sorted")
    label_tweet(store, tweet, "ann", TweetLabel("praise", "positive", False))
    with pytest.raises(UserError, match="labelled by ann already"):
        label_tweet(store, tweet, "bo", TweetLabel("other", "neutral", False))
    with pytest.raises(UserError, match="unknown category"):
        label_tweet(store, lake_tweet("61", "c-61", "hi"), "bo", TweetLabel("x", "neutral", False))
    with pytest.raises(UserError, match="name of the agent"):
        label_tweet(
            store, lake_tweet("62", "c-62", "hi"), "", TweetLabel("other", "neutral", False)
        )
    assert len(audit.recent(store.url, audit.LABEL)) == 1
    with Session(store.engine) as session:
        agents = session.scalars(select(Correction.agent).where(Correction.tweet_id != "1")).all()
    assert set(agents) == {"ann"}


def test_the_audit_entry_commits_with_the_label_or_not_at_all(
    store: TicketStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_: object) -> None:
        raise RuntimeError("audit write failed")

    monkeypatch.setattr(audit, "append", fail)
    with pytest.raises(RuntimeError):
        label_tweet(
            store, lake_tweet("70", "c-70", "hello"), "ann", TweetLabel("other", "neutral", False)
        )
    assert "70" not in labelled_tweet_ids(store)


def test_labels_frame_joins_queue_labels_and_ticket_corrections(store: TicketStore) -> None:
    routing = load_routing(Settings().routing_config)
    ticket_id = ticket_id_for("1")
    correct_ticket(store, ticket_id, "cy", Changes(category="billing"), routing)
    label_tweet(
        store,
        lake_tweet("80", "c-80", "@AmazonHelp love it"),
        "ann",
        TweetLabel("praise", "positive", False),
    )

    category = labels_frame(store, "category").set_index("tweet_id")
    assert list(category.reset_index().columns) == list(LABELLED_COLUMNS)
    assert category.loc["1"].tolist() == ["1", "@AppleSupport charged twice", "billing"]
    assert category.loc["80"].tolist() == ["c-80", "@AmazonHelp love it", "praise"]
    # the ticket's sentiment was not corrected: only the queue's label counts
    assert labels_frame(store, "sentiment")["tweet_id"].tolist() == ["80"]
    assert labels_frame(store, "needs_ticket")["label"].tolist() == ["False"]

    # an agent then says the ticket's tweet was a brand's: it keeps no customer label
    correct_ticket(store, ticket_id, "cy", Changes(inbound=False), routing)
    assert labels_frame(store, "category")["tweet_id"].tolist() == ["80"]
    assert labels_frame(store, "needs_ticket")["tweet_id"].tolist() == ["80"]


def test_merge_keeps_earlier_labels_and_the_newest_wins() -> None:
    earlier = pd.DataFrame(
        [["1", "c1", "old text", "billing"], ["2", "c2", "kept", "travel"]],
        columns=list(LABELLED_COLUMNS),
    )
    fresh = pd.DataFrame([["1", "c1", "old text", "delivery"]], columns=list(LABELLED_COLUMNS))
    merged = merge_labels(earlier, fresh).set_index("tweet_id")["label"]
    assert merged.to_dict() == {"2": "travel", "1": "delivery"}
    assert merge_labels(None, fresh.iloc[0:0]).empty


def test_the_cli_exports_a_labelled_set_merged_with_its_earlier_export(
    store: TicketStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = yaml.safe_load(PARAMS_FILE.read_text())
    params["data"]["labelled"] = "sets"
    monkeypatch.chdir(tmp_path)
    Path("params.yaml").write_text(yaml.safe_dump(params))
    Path("data.dvc").write_text("outs: []\n")
    recorded: list[Path] = []
    monkeypatch.setattr("tweetcare.cli.data.record_data_version", recorded.append)
    monkeypatch.setattr("training.model_card.data_version", lambda _: "v-test")
    earlier = Path("sets/needs_ticket/agents.csv")
    earlier.parent.mkdir(parents=True)
    earlier.write_text(
        "tweet_id,conversation_id,text,label\n9,c9,an older label,yes\n90,c90,x,yes\n"
    )
    label_tweet(
        store,
        lake_tweet("90", "c-90", "@AmazonHelp ok"),
        "ann",
        TweetLabel("other", "neutral", False),
    )
    env = {"TWEETCARE_TICKETS_DB_URL": store.url}
    runner = CliRunner()

    done = runner.invoke(app, ["data", "labels", "export", "--task", "needs_ticket"], env=env)

    assert done.exit_code == 0, done.output
    assert "wrote 2 labelled tweets (1 from the ticket store)" in done.output
    written = pd.read_csv(earlier, dtype=str, keep_default_na=False)
    assert list(written.columns) == list(LABELLED_COLUMNS)
    assert written.values.tolist() == [
        ["9", "c9", "an older label", "yes"],
        ["90", "c-90", "@AmazonHelp ok", "no"],  # the store's newer label wins
    ]
    assert recorded == [Path("data.dvc")]
    assert not list(earlier.parent.glob(".*.tmp"))  # the temp file became the set

    bad = runner.invoke(app, ["data", "labels", "export", "--task", "mood"], env=env)
    assert bad.exit_code == 2 and "'mood' is not one of" in bad.output
    none = runner.invoke(
        app,
        ["data", "labels", "export", "--task", "sentiment", "--name", "fresh", "--dvc-file", ""],
        env=env,
    )
    assert none.exit_code == 0 and Path("sets/sentiment/fresh.csv").is_file()
