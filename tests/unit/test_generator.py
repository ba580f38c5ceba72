"""The synthetic generator: deterministic, in twcs format, with consistent threads and labels."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from tweetcare.core.schemas import (
    CATEGORIES,
    ENTITY_LABELS,
    LABEL_COLUMNS,
    LABEL_FLAG_COLUMN,
    SENTIMENTS,
    TICKET_FLAGS,
    TWCS_COLUMNS,
    TWCS_DATE_FORMAT,
)
from tweetcare.data.ambiguity import PROMOS, SHARED_SHORT, language_of
from tweetcare.data.brands import BRANDS, SECTOR_CATEGORIES
from tweetcare.data.generator import generate, write_dataset


@pytest.fixture(scope="module")
def dataset() -> tuple[pd.DataFrame, pd.DataFrame]:
    return generate(4000, seed=7)


def test_same_seed_writes_same_bytes(tmp_path: Path) -> None:
    a = write_dataset(tmp_path / "a", rows=500, seed=3)
    b = write_dataset(tmp_path / "b", rows=500, seed=3)
    for left, right in zip(a, b, strict=True):
        assert left.read_bytes() == right.read_bytes()
    other = write_dataset(tmp_path / "c", rows=500, seed=4)
    assert other[0].read_bytes() != a[0].read_bytes()


def test_exact_row_count_and_columns(dataset: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    tweets, labels = dataset
    assert tuple(tweets.columns) == TWCS_COLUMNS
    assert tuple(labels.columns) == (*LABEL_COLUMNS, LABEL_FLAG_COLUMN)
    assert len(tweets) == len(labels) == 4000
    assert tweets["tweet_id"].is_unique
    assert (labels["tweet_id"].to_numpy() == tweets["tweet_id"].to_numpy()).all()


def test_csv_format_matches_twcs(tmp_path: Path) -> None:
    twcs, _ = write_dataset(tmp_path, rows=300, seed=1)
    raw = pd.read_csv(twcs, dtype=str, keep_default_na=False)
    assert list(raw.columns) == list(TWCS_COLUMNS)
    assert set(raw["inbound"]) == {"True", "False"}
    assert raw["tweet_id"].str.fullmatch(r"\d+").all()
    assert (
        raw["in_response_to_tweet_id"].eq("") | raw["in_response_to_tweet_id"].str.fullmatch(r"\d+")
    ).all()
    assert (
        raw["response_tweet_id"].eq("") | raw["response_tweet_id"].str.fullmatch(r"\d+(,\d+)*")
    ).all()
    dates = [datetime.strptime(d, TWCS_DATE_FORMAT) for d in raw["created_at"]]
    assert all(d.year == 2017 and d.month in (10, 11) for d in dates)


def test_thread_links_agree_both_ways(dataset: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    tweets, _ = dataset
    parent_of = dict(zip(tweets["tweet_id"], tweets["in_response_to_tweet_id"], strict=True))
    children = 0
    for tweet_id, responses in zip(tweets["tweet_id"], tweets["response_tweet_id"], strict=True):
        if isinstance(responses, str):
            for child in map(int, responses.split(",")):
                assert parent_of[child] == tweet_id
                children += 1
    replies = tweets.dropna(subset=["in_response_to_tweet_id"])
    assert children == len(replies) > 0
    by_id = tweets.set_index("tweet_id")
    for child, parent in zip(replies["tweet_id"], replies["in_response_to_tweet_id"], strict=True):
        assert str(child) in by_id.loc[parent, "response_tweet_id"].split(",")
        assert (
            by_id.loc[parent, "inbound"] != by_id.loc[child, "inbound"]
            or by_id.loc[child, "inbound"]
        )
    # some tweets get several responses, some none
    assert tweets["response_tweet_id"].str.contains(",", na=False).any()
    assert tweets["response_tweet_id"].isna().any()


def test_authors_and_handles(dataset: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    tweets, _ = dataset
    handles = {b.handle for b in BRANDS}
    customers = tweets[tweets["inbound"]]
    brands = tweets[~tweets["inbound"]]
    assert customers["author_id"].str.fullmatch(r"\d+").all()
    assert set(brands["author_id"]) <= handles
    # a brand reply opens with the id of the customer it answers, a few with a screen name (live X)
    by_id_handle = brands["text"].str.match(r"@\d+ ")
    assert by_id_handle.mean() > 0.9
    assert brands.loc[~by_id_handle, "text"].str.match(r"@[a-z]+_?\d* ").all()
    by_id = tweets.set_index("tweet_id")
    answered = brands[by_id_handle]
    parents = by_id.loc[answered["in_response_to_tweet_id"].astype(int), "author_id"].to_numpy()
    assert (answered["text"].str.extract(r"^@(\d+)")[0].to_numpy() == parents).all()
    assert customers["text"].str.contains("@").mean() > 0.95


def test_entity_spans_match_text(dataset: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    tweets, labels = dataset
    seen_labels = set()
    for text, entities in zip(tweets["text"], labels["entities"], strict=True):
        for ent in json.loads(entities):
            assert text[ent["start"] : ent["end"]] == ent["text"]
            seen_labels.add(ent["label"])
    assert seen_labels == set(ENTITY_LABELS)


def test_labels_cover_categories_and_sentiments(dataset: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    tweets, labels = dataset
    inbound = labels[tweets["inbound"].to_numpy()]
    assert set(inbound["category"]) == set(CATEGORIES)
    assert set(inbound["sentiment"]) == set(SENTIMENTS)
    assert not labels.loc[~tweets["inbound"].to_numpy(), "needs_ticket"].any()
    assert inbound["needs_ticket"].any()
    assert set(SECTOR_CATEGORIES) >= {b.sector for b in BRANDS}


def _is_promo(text: str) -> bool:
    """Starts with the fixed words of one of the PROMOS."""
    return any(text.startswith(promo.split("{")[0]) for promo in PROMOS)


def test_flagged_tweets_open_threads_or_pass_on_promos_and_never_need_tickets(
    dataset: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    tweets, labels = dataset
    flags = labels[LABEL_FLAG_COLUMN].fillna("")
    flagged = flags != ""
    assert set(flags[flagged]) == set(TICKET_FLAGS)
    assert tweets.loc[flagged, "inbound"].all()
    # the thread's flag is on its opener; a follow-up is flagged only as chatter (a promo passed on)
    replies = tweets["in_response_to_tweet_id"].notna()
    assert set(flags[flagged & replies]) == {"chatter"}
    assert tweets.loc[flagged & replies, "text"].map(_is_promo).all()
    assert not labels.loc[flagged, "needs_ticket"].any()
    assert (labels.loc[flags.isin(["spam", "chatter"]), "category"] == "other").all()
    # a few percent each: enough to learn from, not enough to change the data's character
    assert 0.01 < flagged.mean() < 0.15


def test_phones_and_emails_look_real(dataset: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    _, labels = dataset
    spans = [e for cell in labels["entities"] for e in json.loads(cell)]
    emails = [e["text"] for e in spans if e["label"] == "EMAIL"]
    phones = [e["text"] for e in spans if e["label"] == "PHONE"]
    assert emails and all(re.fullmatch(r"[\w.]+@[\w.]+\.\w+", e) for e in emails)
    assert phones and all(sum(c.isdigit() for c in p) >= 10 for p in phones)


def test_rejects_nonsense_row_count() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        generate(0, seed=1)


def test_ambiguity_blurs_the_voices_but_keeps_labels_truthful(
    dataset: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    tweets, _ = dataset
    customers = tweets[tweets["inbound"]]
    brands = tweets[~tweets["inbound"]]
    # customers tag other users instead of the brand; brands send one-line chat and questions
    assert 0.05 < customers["text"].str.match(r"\.?@\d+").mean() < 0.4
    short = set(SHARED_SHORT)
    bodies = brands["text"].str.replace(r"^@\d+ ", "", regex=True)
    assert bodies.isin(short).any()
    assert customers["text"].str.replace(r"^@\w+ ", "", regex=True).isin(short).any()
    # marketing copy comes from both sides: a promo's words say nothing about its author
    for side in (customers, brands):
        assert side["text"].str.replace(r"^@\w+ ", "", regex=True).map(_is_promo).any()
    # whoever wrote a tweet keeps its label: customers are numeric ids, brands their handles
    assert customers["author_id"].str.fullmatch(r"\d+").all()
    assert not brands["author_id"].str.fullmatch(r"\d+").any()


def test_zero_ambiguity_writes_plain_data() -> None:
    plain, _ = generate(600, seed=5, ambiguity=0.0)
    again, _ = generate(600, seed=5, ambiguity=0.0)
    blurred, _ = generate(600, seed=5)
    pd.testing.assert_frame_equal(plain, again)
    assert not plain["text"].equals(blurred["text"])
    assert not plain.loc[~plain["inbound"], "text"].str.contains('"', regex=False).any()
    with pytest.raises(ValueError, match="at least 0"):
        generate(10, seed=5, ambiguity=-1.0)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("mi pedido todavía no ha llegado", "es"),
        ("ma commande n'est toujours pas arrivée", "fr"),
        ("seit dem Update ist die App kaputt", "de"),
        ("my order never arrived", None),
    ],
)
def test_language_of_picks_the_reply_language(text: str, lang: str | None) -> None:
    assert language_of(text) == lang
