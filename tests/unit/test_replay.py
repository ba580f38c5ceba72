"""Replay without a broker: reading, ordering, pacing maths and the message each row becomes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tweetcare.core.errors import UserError
from tweetcare.core.schemas import TWCS_COLUMNS, TweetMessage
from tweetcare.core.settings import Settings
from tweetcare.kafka.replay import (
    build_message,
    check_pacing,
    due_seconds,
    load_tweets,
    order_by_created_at,
    replay,
)

HEADER = ",".join(TWCS_COLUMNS)
ROWS = [
    # tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id
    "2,AppleSupport,False,Tue Oct 31 22:11:47 +0000 2017,@115712 we can help,3,1",
    '9,115800,True,not a date,"bad, date",,',
    "1,115712,True,Tue Oct 31 22:10:47 +0000 2017,@AppleSupport my phone died,2,",
    "3,115712,maybe,Tue Oct 31 22:12:47 +0000 2017,thanks,,2",
    "5,115713,True,Tue Oct 31 22:10:47 +0000 2017,,,",
]


@pytest.fixture
def twcs_csv(tmp_path: Path) -> Path:
    path = tmp_path / "twcs.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n")
    return path


def test_load_tweets_keeps_ids_as_strings_and_empty_cells_as_none(twcs_csv: Path) -> None:
    frame = load_tweets(twcs_csv).set_index("tweet_id", drop=False)
    assert frame.loc["5", "text"] is None
    assert frame.loc["1", "in_response_to_tweet_id"] is None
    assert frame.loc["2", "response_tweet_id"] == "3"
    assert frame["conversation_id"].to_dict() == {"2": "1", "9": "9", "1": "1", "3": "1", "5": "5"}


def test_load_tweets_rejects_missing_file_and_wrong_columns(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no CSV"):
        load_tweets(tmp_path / "missing.csv")
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("tweet_id,text\n1,hello\n")
    with pytest.raises(UserError, match="author_id"):
        load_tweets(wrong)


def test_rows_go_out_in_time_order_with_ties_and_bad_dates_in_file_order(twcs_csv: Path) -> None:
    ordered = order_by_created_at(load_tweets(twcs_csv))
    # 1 and 5 share a timestamp (file order: 1 first); the unparsable date goes last
    assert ordered["tweet_id"].tolist() == ["1", "5", "2", "3", "9"]


def test_fixed_rate_spaces_messages_evenly() -> None:
    created = pd.Series(["x"] * 4)
    assert due_seconds(created, rate=2.0).tolist() == [0.0, 0.5, 1.0, 1.5]


def test_speed_divides_the_original_gaps_and_bad_dates_follow_the_previous() -> None:
    created = pd.Series(
        [
            "Tue Oct 31 22:10:00 +0000 2017",
            "Tue Oct 31 22:11:00 +0000 2017",
            "Tue Oct 31 22:13:00 +0000 2017",
            "garbage",
        ]
    )
    np.testing.assert_allclose(due_seconds(created, speed=60.0), [0.0, 1.0, 3.0, 3.0])


def test_no_pacing_means_as_fast_as_possible() -> None:
    created = pd.Series(["Tue Oct 31 22:10:00 +0000 2017", "Tue Oct 31 23:10:00 +0000 2017"])
    assert due_seconds(created).tolist() == [0.0, 0.0]


def test_message_has_the_tweet_fields_and_a_boolean_inbound(twcs_csv: Path) -> None:
    rows = load_tweets(twcs_csv).set_index("tweet_id", drop=False)
    message = json.loads(build_message(rows.loc["2"].to_dict()))
    assert set(message) == set(TweetMessage.model_fields)
    assert message["inbound"] is False
    assert TweetMessage.model_validate(message).conversation_id == "1"


def test_bad_rows_are_passed_through_unrepaired(twcs_csv: Path) -> None:
    rows = load_tweets(twcs_csv).set_index("tweet_id", drop=False)
    odd_inbound = json.loads(build_message(rows.loc["3"].to_dict()))
    no_text = json.loads(build_message(rows.loc["5"].to_dict()))
    assert odd_inbound["inbound"] == "maybe"
    assert no_text["text"] is None


@pytest.mark.parametrize(
    ("rate", "speed", "limit", "match"),
    [
        (1.0, 2.0, None, "exclude each other"),
        (0.0, None, None, "--rate must be positive"),
        (None, -1.0, None, "--speed must be positive"),
        (None, None, -3, "--limit"),
    ],
)
def test_bad_pacing_is_a_user_error(
    rate: float | None, speed: float | None, limit: int | None, match: str
) -> None:
    with pytest.raises(UserError, match=match):
        check_pacing(rate, speed, limit)


def test_replay_checks_its_input_before_reaching_for_a_broker(twcs_csv: Path) -> None:
    # port 1 never has a broker: the errors must come from the input checks
    settings = Settings(kafka_port=1)
    with pytest.raises(UserError, match="exclude each other"):
        replay(twcs_csv, settings, rate=1.0, speed=1.0)
    with pytest.raises(UserError, match="no Kafka broker answers"):
        replay(twcs_csv, settings, progress=False)
