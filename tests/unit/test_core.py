"""The shared core: text cleaning, conversation ids, settings passed to child processes."""

from pathlib import Path

import pandas as pd

from tweetcare.core.conversations import conversation_ids
from tweetcare.core.settings import Settings
from tweetcare.core.text import clean_text


def test_clean_text_masks_handles_links_and_decodes_entities() -> None:
    cleaned = clean_text("@AmazonHelp @115712 Fish &amp; chips https://t.co/abc ^JK")
    assert cleaned == "<brand> <user> fish & chips <url> ^jk"


def test_clean_text_can_keep_handles_to_measure_the_shortcut() -> None:
    assert clean_text("@115712 DM us", mask_handles=False) == "@115712 dm us"


def test_clean_text_keeps_emojis() -> None:
    assert "😡" in clean_text("@Brand worst service 😡")


def test_conversation_ids_follow_replies_to_the_root() -> None:
    ids = pd.Series(["1", "2", "3", "4", "5"])
    parents = pd.Series([None, "1", "2", None, "99"])  # 5 answers a tweet missing from the data
    assert conversation_ids(ids, parents).tolist() == ["1", "1", "1", "4", "5"]


def test_settings_round_trip_through_the_environment(monkeypatch) -> None:
    custom = Settings(kafka_port=19092, bento_port=13000, tickets_db_url="sqlite:///x.db")
    for name, value in custom.to_env().items():
        monkeypatch.setenv(name, value)
    again = Settings()
    # paths travel as absolute paths, so a child started in another directory finds them
    expected = {
        name: value.resolve() if isinstance(value, Path) else value
        for name, value in custom.model_dump().items()
    }
    assert again.model_dump() == expected
    assert again.lake_dir.is_absolute()
    assert again.kafka_bootstrap == "127.0.0.1:19092"
