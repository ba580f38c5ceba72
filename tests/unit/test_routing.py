"""Routing rules: team by category and brand, priority from words, sentiment and category, SLA."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from tweetcare.core.errors import UserError
from tweetcare.core.schemas import CATEGORIES, Analysis
from tweetcare.core.settings import Settings
from tweetcare.tickets.routing import RoutingRules, load_routing

RULES = {
    "teams": {
        "default": "care",
        "by_category": {"billing": "billing", "travel": "travel-desk"},
        "by_brand": {"MetroBank_Help": {"billing": "payments-ops"}},
    },
    "priority": {
        "levels": ["urgent", "high", "normal", "low"],
        "by_category": {"billing": "normal", "travel": "high", "praise": "low"},
        "urgent_words": ["outage", "fraud"],
        "escalate_below_score": -0.5,
        "escalate_negative_label": False,
    },
    "sla_minutes": {"urgent": 60, "high": 240, "normal": 1440, "low": 4320},
}


def analysis(
    category: str | None = "billing", sentiment: str | None = "neutral", score: float = 0.0
) -> Analysis:
    return Analysis(
        inbound=True,
        inbound_probability=0.95,
        sentiment=sentiment,
        sentiment_score=score,
        category=category,
        category_confidence=0.9,
        needs_ticket=True,
        masked_text="text",
    )


@pytest.fixture
def rules() -> RoutingRules:
    return RoutingRules.model_validate(RULES)


def test_a_brand_rule_overrides_the_category_team(rules: RoutingRules) -> None:
    assert rules.team_for("billing", "MetroBank_Help") == "payments-ops"
    assert rules.team_for("billing", "AmazonHelp") == "billing"
    assert rules.team_for("travel", None) == "travel-desk"
    assert rules.team_for("praise", "AmazonHelp") == "care"  # no rule: the default team


def test_an_unknown_category_falls_back_to_other(rules: RoutingRules) -> None:
    assert rules.category_of(analysis(category="astrology")) == "other"
    assert rules.category_of(analysis(category=None)) == "other"
    assert rules.category_of(analysis(category="travel")) == "travel"


@pytest.mark.parametrize(
    ("category", "score", "text", "expected"),
    [
        ("billing", 0.0, "I was charged twice", "normal"),
        ("billing", -0.8, "I was charged twice, furious", "high"),  # angry: one level up
        ("travel", -0.9, "flight cancelled", "urgent"),  # high, one up
        ("praise", 0.9, "love it", "low"),
        ("praise", 0.9, "FRAUD on my card!", "urgent"),  # urgent words win outright
        ("billing", 0.0, "there is an Outage again", "urgent"),
        ("billing", 0.0, "fraudster", "normal"),  # whole words only
    ],
)
def test_priority(
    rules: RoutingRules, category: str, score: float, text: str, expected: str
) -> None:
    sentiment = "negative" if score < 0 else "positive"
    assert rules.priority_for(analysis(category, sentiment, score), text) == expected


def test_a_negative_label_escalates_when_the_rules_say_so() -> None:
    raw = {**RULES, "priority": {**RULES["priority"], "escalate_negative_label": True}}
    rules = RoutingRules.model_validate(raw)
    assert rules.priority_for(analysis("billing", "negative", -0.1), "meh") == "high"


def test_sla_due_follows_the_priority(rules: RoutingRules) -> None:
    opened = datetime(2017, 10, 31, 22, 0, tzinfo=UTC)
    assert rules.sla_due("urgent", opened) == opened + timedelta(hours=1)
    assert rules.sla_due("low", opened) == opened + timedelta(days=3)
    assert rules.more_urgent("normal", "urgent") == "urgent"
    assert rules.more_urgent("high", "low") == "high"


def test_the_shipped_rules_load_and_cover_every_category() -> None:
    rules = load_routing(Settings().routing_config)
    assert set(rules.teams.by_category) == set(rules.priority.by_category) == set(CATEGORIES)
    assert set(rules.sla_minutes) == set(rules.priority.levels)
    assert rules.priority.incident_raise == 1


@pytest.mark.parametrize(
    ("raise_by", "expected"),
    [
        (0, ["urgent", "high", "normal", "low"]),  # off: nothing moves
        (1, ["urgent", "urgent", "high", "normal"]),  # one up, never above the top
        (2, ["urgent", "urgent", "urgent", "high"]),
        (3, ["urgent", "urgent", "urgent", "urgent"]),
    ],
)
def test_an_incident_raises_the_priority_capped_at_the_top(
    raise_by: int, expected: list[str]
) -> None:
    rules = RoutingRules.model_validate(with_incident_raise(raise_by))
    assert [rules.incident_priority(level) for level in rules.priority.levels] == expected
    assert rules.incident_priority("retired-level") == "retired-level"


def test_without_the_rule_incidents_raise_nothing(rules: RoutingRules) -> None:
    assert rules.priority.incident_raise == 0  # absent from older routing files: off
    assert rules.incident_priority("normal") == "normal"


def with_incident_raise(value: object) -> dict:
    return {**RULES, "priority": {**RULES["priority"], "incident_raise": value}}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sla_minutes": {"urgent": 60}}, "sla_minutes lacks"),
        ({"teams": {"default": "care", "by_category": {"astrology": "x"}}}, "astrology"),
        ({"colour": "blue"}, "colour"),
        (with_incident_raise(-1), "incident_raise.*greater than or equal to 0"),
        (with_incident_raise(4), "incident_raise is 4, more than the 3 levels above the lowest"),
        (with_incident_raise("one"), "incident_raise.*integer"),
        (with_incident_raise(True), "incident_raise.*integer"),
    ],
)
def test_bad_rules_are_refused_in_one_clear_line(
    tmp_path: Path, change: dict, message: str
) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(yaml.safe_dump({**RULES, **change}))
    with pytest.raises(UserError, match=message):
        load_routing(path)


def test_a_missing_or_broken_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot read"):
        load_routing(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("teams: [unclosed")
    with pytest.raises(UserError, match="not valid YAML"):
        load_routing(tmp_path / "bad.yaml")


LANGUAGE_RULES = {
    **RULES,
    "teams": {
        **RULES["teams"],
        "by_language": {"pt": "portuguese-desk", "es": "spanish-desk"},
        "other_languages": "international-desk",
    },
}


def test_another_language_goes_to_its_queue_whatever_the_category() -> None:
    rules = RoutingRules.model_validate(LANGUAGE_RULES)
    assert rules.team_for("delivery", "AmazonHelp", "pt") == "portuguese-desk"
    assert rules.team_for("billing", "MetroBank_Help", "es") == "spanish-desk"  # over the brand
    assert rules.team_for("travel", None, "ja") == "international-desk"  # not listed
    assert rules.team_for("billing", "MetroBank_Help", "en") == "payments-ops"
    assert rules.team_for("billing", "MetroBank_Help", None) == "payments-ops"


def test_without_language_queues_the_category_team_answers(rules: RoutingRules) -> None:
    assert rules.team_for("travel", None, "pt") == "travel-desk"


def test_the_shipped_rules_route_a_portuguese_complaint_to_a_language_queue() -> None:
    rules = load_routing(Path(Settings().routing_config))
    assert rules.team_for("delivery", "AmazonHelp", "pt") == "portuguese-desk"
    assert rules.team_for("delivery", "AmazonHelp", "en") == "logistics"
