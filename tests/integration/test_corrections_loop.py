"""The corrections loop on the real stack: agents correct tickets the category model got wrong,
the export becomes a new data version, `dvc repro train_analysis` retrains, and the new model
gets them right.

Runs in a copy of the session's trained project (the real `dvc repro`'d pipeline and its MLflow
registry), so the shared one stays as the other tests expect it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from tests.fixtures.project import run_in
from tweetcare.cli import app
from tweetcare.core.schemas import Analysis, TweetMessage
from tweetcare.core.settings import Settings
from tweetcare.tickets import TicketEvent, TicketStore
from tweetcare.tickets.models import ticket_id_for
from tweetcare.tickets.replies import load_replies
from tweetcare.tickets.routing import load_routing

pytestmark = pytest.mark.integration

CATEGORY_MODEL = "tweet-category"
# complaints about loyalty points, a theme the generated training data does not have; the care
# team files them under `account` (the points live in the customer's account)
LOYALTY = [
    "@AmazonHelp my reward points vanished from my balance after the last order",
    "@Delta where did my 40k skymiles go, the balance shows zero today",
    "@AppleSupport gift card balance disappeared from my wallet overnight",
    "@SpotifyCares my loyalty points are gone and nobody can say why",
    "@comcastcares rewards balance reset to zero, I had 12000 points",
    "@Uber_Support my uber cash and reward points are missing again",
    "@AmazonHelp points from the promo never showed up in my balance",
    "@Delta medallion miles not credited for my last three trips",
    "@AppleSupport the store credit I was promised never reached my balance",
    "@SpotifyCares referral points missing from my profile balance",
    "@comcastcares my rewards card points expired early without notice",
    "@Uber_Support rides points balance dropped by half overnight",
]
TARGET = "account"


def customer_events(texts: list[str], categories: list[str]) -> list[TicketEvent]:
    """Tickets as the stream opens them from the category model's (wrong) answers."""
    events = []
    for i, (text, category) in enumerate(zip(texts, categories, strict=True)):
        tweet = TweetMessage(
            tweet_id=f"loyalty-{i}",
            author_id=str(900_000 + i),
            inbound=True,
            created_at="Tue Oct 31 22:10:47 +0000 2017",
            text=text,
            conversation_id=f"loyalty-{i}",
        )
        analysis = Analysis(
            inbound=True,
            inbound_probability=0.95,
            sentiment="negative",
            sentiment_score=-0.5,
            category=category,
            category_confidence=0.6,
            needs_ticket=True,
            masked_text=text,
        )
        events.append(TicketEvent(tweet, analysis))
    return events


def categories_of(registry: str, texts: list[str]) -> list[str]:
    mlflow.set_tracking_uri(registry)
    try:
        model = mlflow.pyfunc.load_model(f"models:/{CATEGORY_MODEL}@champion")
        return model.predict(pd.DataFrame({"text": texts}))["category"].astype(str).tolist()
    finally:
        mlflow.set_tracking_uri(None)


def test_corrected_tickets_become_training_data_the_next_model_gets_right(
    trained_project: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(trained_project, project, symlinks=True)
    registry = f"sqlite:///{project / 'mlflow.db'}"
    before = categories_of(registry, LOYALTY)
    wrong = [i for i, category in enumerate(before) if category != TARGET]
    assert len(wrong) >= 8, before  # the theme is new: the model mostly files them elsewhere
    texts = [LOYALTY[i] for i in wrong]

    store = TicketStore(f"sqlite:///{tmp_path / 'tickets.db'}")
    store.create_schema()
    settings = Settings()
    events = customer_events(texts, [before[i] for i in wrong])
    store.apply(
        events, load_routing(settings.routing_config), load_replies(settings.replies_config), "b-1"
    )
    store.close()
    env = {"TWEETCARE_TICKETS_DB_URL": f"sqlite:///{tmp_path / 'tickets.db'}", "USER": "ann"}
    runner = CliRunner()
    for event in events:
        ticket_id = ticket_id_for(event.tweet.conversation_id)
        done = runner.invoke(app, ["tickets", "correct", ticket_id, "--category", TARGET], env=env)
        assert done.exit_code == 0 and f"-> {TARGET} by ann" in done.output, done.output

    data_version = (project / "data.dvc").read_text()
    exported = runner.invoke(
        app,
        ["data", "corrections", "export", "--out", str(project / "data" / "corrections.csv"),
         "--dvc-file", str(project / "data.dvc")],
        env=env,
    )  # fmt: skip
    assert exported.exit_code == 0, exported.output
    assert f"wrote {len(texts)} corrected tweets" in exported.output
    assert (project / "data.dvc").read_text() != data_version  # a new data version

    # the analysis stage and what it depends on (validate, split, featurize): the inbound
    # comparison's rerun would show nothing more here and costs minutes of the suite
    repro = run_in(project, ["dvc", "repro", "train_analysis"])
    assert (
        "Running stage 'split'" in repro.stdout and "Running stage 'train_analysis'" in repro.stdout
    )
    after = categories_of(registry, texts)
    right = sum(category == TARGET for category in after)
    assert right >= len(texts) - 1, after  # learnt from the agents' labels

    client = MlflowClient(tracking_uri=registry, registry_uri=registry)
    champion = client.get_model_version_by_alias(CATEGORY_MODEL, "champion")
    assert int(champion.version) > 1  # a new version, trained on the new data version
    run = client.get_run(champion.run_id)
    assert run.data.params["corrections_rows"] == str(len(texts))
