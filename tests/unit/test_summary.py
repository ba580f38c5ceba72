"""The demo's summary must refuse figures that do not add up."""

from tweetcare.summary import Summary


def _summary(**overrides: int) -> Summary:
    figures = {
        "replayed": 105,
        "consumed": 105,
        "inbound": 60,
        "outbound": 40,
        "tickets_opened": 30,
        "lake_rows": 100,
        "dead_lettered": 5,
    }
    figures.update(overrides)
    return Summary(**figures)


def test_reconciled_figures_have_no_problems() -> None:
    assert _summary().problems() == []
    assert "lake rows: 100" in _summary().lines()


def test_a_lost_tweet_is_reported() -> None:
    problems = _summary(lake_rows=99, outbound=39).problems()
    assert problems == ["replayed (105) != lake rows (99) + dead-lettered (5)"]


def test_unconsumed_messages_are_reported() -> None:
    assert "consumed (100) != replayed (105)" in _summary(consumed=100).problems()


def test_a_tweet_archived_twice_is_reported() -> None:
    problems = _summary(lake_rows=101, distinct_tweets=100, inbound=61, replayed=106).problems()
    assert problems[0] == (
        "lake rows (101) != distinct tweet ids (100): tweets archived more than once"
    )


def test_raw_rows_equal_to_distinct_ids_reconcile() -> None:
    assert _summary(distinct_tweets=100).problems() == []
