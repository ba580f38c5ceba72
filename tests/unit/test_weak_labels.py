"""Weak labels from the brand's replies (`tweetcare.data.weak`, `tweetcare data labels weak`) on
tiny twcs threads written here: the reply says what the customer meant, or nothing is labelled."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from tweetcare.cli import app
from tweetcare.core.errors import UserError
from tweetcare.core.schemas import TWCS_COLUMNS
from tweetcare.data.labelled import LABELLED_COLUMNS, read_labelled_sets
from tweetcare.data.weak import WeakRules, load_weak_rules, weak_labels

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "config" / "weak_labels.yaml"
runner = CliRunner()

# (tweet_id, inbound, text, in_response_to): five threads, each opened by a customer
THREADS = [
    ("1", True, "@AirCo my flight is delayed 4 hours and nobody tells us anything", ""),
    ("2", False, "@101 We're so sorry for the delay. What's your flight number? ^JK", "1"),
    ("3", True, "@AirCo DL123", "2"),
    ("4", False, "@101 Thanks, our apologies again, it leaves at 5pm. ^JK", "3"),
    ("10", True, "@AirCo thanks so much for the upgrade, the crew were lovely!", ""),
    ("11", False, "@102 You're welcome! We'll pass your kind words on to the crew. ^AB", "10"),
    ("20", True, "@AirCo what time does the lounge at JFK open?", ""),
    ("30", True, "@AirCo sorry, wrong account", ""),
    ("31", False, "@104 No worries! ^AB", "30"),
    ("40", True, "@AirCo my bag never arrived, but the crew were great", ""),
    ("41", False, "@105 Sorry about your bag! Glad to hear the crew took care of you. ^AB", "40"),
    ("50", True, "@AirCo can I bring my cat on board?", ""),
    # the apology is for the brand's own slowness (ignored); "welcome to" is no answer to thanks
    (
        "51",
        False,
        "@106 Sorry for the late reply! You're welcome to bring her. Hope this helps!",
        "50",
    ),
]


def history(rows: list[tuple[str, bool, str, str]] = THREADS) -> pd.DataFrame:
    """A twcs-format frame of ``rows``, response_tweet_id filled from the reply links."""
    answers: dict[str, list[str]] = {}
    for tweet_id, _, _, parent in rows:
        if parent:
            answers.setdefault(parent, []).append(tweet_id)
    frame = pd.DataFrame(
        [
            {
                "tweet_id": tweet_id,
                "author_id": "AirCo" if not inbound else f"cust{tweet_id}",
                "inbound": str(inbound),
                "created_at": "Tue Oct 31 22:10:47 +0000 2017",
                "text": text,
                "response_tweet_id": ",".join(answers.get(tweet_id, [])),
                "in_response_to_tweet_id": parent,
            }
            for tweet_id, inbound, text, parent in rows
        ],
        columns=list(TWCS_COLUMNS),
    )
    frame.index = frame.index + 2
    return frame


def labels(task: str, rules: WeakRules | None = None) -> dict[str, str]:
    weak = weak_labels(history(), rules or load_weak_rules(RULES), task)
    assert tuple(weak.frame.columns) == LABELLED_COLUMNS
    return dict(zip(weak.frame["tweet_id"], weak.frame["label"], strict=True))


def test_an_apology_marks_a_problem_thanks_back_praise_and_an_answer_a_question() -> None:
    assert labels("sentiment") == {"1": "negative", "10": "positive", "50": "neutral"}
    assert labels("needs_ticket") == {"1": "yes", "10": "no", "50": "yes"}


def test_no_reply_a_silent_reply_or_a_reply_pointing_two_ways_gives_no_label() -> None:
    weak = weak_labels(history(), load_weak_rules(RULES), "sentiment")
    found = set(weak.frame["tweet_id"])
    assert not found & {"20", "30", "40"}  # no reply; "No worries!"; sorry and glad at once
    assert weak.conflicts == 1
    assert weak.customers == 7 and weak.eligible == 6  # the follow-up "DL123" may not be
    assert weak.coverage == pytest.approx(3 / 7)


def test_a_brand_tweet_is_never_labelled_even_when_it_answers_a_brand_tweet() -> None:
    rows = [*THREADS, ("60", False, "@AirCo our crew rock", ""), ("61", False, "Sorry! ^JK", "60")]
    weak = weak_labels(history(rows), load_weak_rules(RULES), "sentiment")
    assert not set(weak.frame["tweet_id"]) & {"2", "4", "11", "31", "41", "51", "60", "61"}


def test_follow_ups_are_labelled_only_when_the_rules_say_so() -> None:
    rules = load_weak_rules(RULES).model_copy(update={"openings_only": False})
    assert labels("sentiment", rules)["3"] == "negative"
    assert labels("sentiment", rules).keys() == {"1", "3", "10", "50"}


def test_each_label_keeps_its_thread_and_category_needs_one_topic() -> None:
    weak = weak_labels(history(), load_weak_rules(RULES), "category")
    assert dict(zip(weak.frame["tweet_id"], weak.frame["label"], strict=True)) == {
        "1": "travel",  # "sorry for the delay"
        "10": "praise",  # "your kind words"
    }
    assert set(weak.frame["conversation_id"]) == {"1", "10"}


def test_rules_come_from_the_file_and_a_bad_file_is_one_line(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        yaml.safe_dump(
            {
                "signals": {"moan": ["delay"], "cheer": ["welcome!"]},
                "tasks": {"needs_ticket": {"yes": ["moan"], "no": ["cheer"]}},
            }
        )
    )
    assert labels("needs_ticket", load_weak_rules(rules)) == {"1": "yes", "10": "no"}
    with pytest.raises(UserError, match="the weak-label rules have no labels for sentiment"):
        labels("sentiment", load_weak_rules(rules))
    bad = {
        "signals": {"moan": ["(sorry"]},
        "tasks": {"sentiment": {"negative": ["moan"]}},
    }
    for change, says in [
        ({}, "is not a regular expression"),
        ({"signals": {"moan": ["sorry"]}, "tasks": {"sentiment": {"angry": ["moan"]}}}, "angry"),
        ({"signals": {"moan": ["sorry"]}, "tasks": {"sentiment": {"negative": ["x"]}}}, "x"),
    ]:
        rules.write_text(yaml.safe_dump(bad | change))
        with pytest.raises(UserError, match=says) as caught:
            load_weak_rules(rules)
        assert "\n" not in str(caught.value) and str(rules) in str(caught.value)


def test_yes_and_no_keys_may_be_left_unquoted(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "signals: {moan: [sorry], cheer: [welcome]}\n"
        "tasks: {needs_ticket: {yes: [moan], no: [cheer]}}\n"
    )
    assert set(load_weak_rules(rules).tasks["needs_ticket"]) == {"yes", "no"}


def run(tmp_path: Path, source: Path, *args: str) -> object:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"]["labelled"] = str(tmp_path / "labelled")
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(params))
    return runner.invoke(
        app,
        [
            *("data", "labels", "weak", str(source), *args),
            *("--rules", str(RULES), "--params", str(params_file), "--dvc-file", ""),
            *("--report-dir", str(tmp_path / "reports")),
        ],
    )


def test_the_command_writes_a_checked_set_and_says_how_much_it_covers(tmp_path: Path) -> None:
    source = tmp_path / "history.csv"
    history().to_csv(source, index=False)
    result = run(tmp_path, source, "--task", "needs_ticket")
    assert result.exception is None, result.output  # type: ignore[attr-defined]
    (frame,) = read_labelled_sets(tmp_path / "labelled", "needs_ticket").values()
    assert frame.values.tolist() == [
        ["1", "1", THREADS[0][2], "yes"],
        ["10", "10", THREADS[4][2], "no"],
        ["50", "50", THREADS[11][2], "yes"],
    ]
    output = result.output  # type: ignore[attr-defined]
    assert "label yes" in output and "coverage: 42.9%" in output and "weak.csv" in output
    assert (tmp_path / "reports" / "labelled_needs_ticket_weak.json").is_file()


@pytest.mark.parametrize(
    ("content", "args", "says"),
    [
        ("text,label\nhi,positive\n", ["--task", "sentiment"], "does not look like twcs.csv"),
        (None, ["--task", "inbound"], "'inbound' is not one of"),
        (None, ["--task", "sentiment", "--name", "Weak Set"], "--name weak-set"),
    ],
)
def test_the_command_refuses_with_one_line_and_writes_nothing(
    tmp_path: Path, content: str | None, args: list[str], says: str
) -> None:
    source = tmp_path / "history.csv"
    if content is None:
        history().to_csv(source, index=False)
    else:
        source.write_text(content)
    result = run(tmp_path, source, *args)
    error = result.exception  # type: ignore[attr-defined]
    message = str(error) if isinstance(error, UserError) else result.output  # type: ignore[attr-defined]
    assert result.exit_code != 0 and says in message  # type: ignore[attr-defined]
    if isinstance(error, UserError):
        assert "\n" not in message
    assert not (tmp_path / "labelled").exists()
