"""Routing rules: which team gets a ticket, how urgent it is, and when its first answer is due.

The rules live in `config/routing.yaml` (`TWEETCARE_ROUTING_CONFIG`) so a support lead changes
a team or an SLA without touching code; a malformed file is refused when it is loaded. The
categories are the taxonomy's (`config/taxonomy.yaml`, `tweetcare.core.schemas.CATEGORIES`).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tweetcare.core.errors import UserError, describe_validation
from tweetcare.core.schemas import CATEGORIES, Analysis

# relative config paths that do not exist from the working directory are looked up here
PROJECT_ROOT = Path(__file__).resolve().parents[2]
FALLBACK_CATEGORY = "other"
ENGLISH = "en"  # the language the category teams read; any other goes to a language queue


class TeamRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default: str
    by_category: dict[str, str] = Field(default_factory=dict)
    by_brand: dict[str, dict[str, str]] = Field(default_factory=dict)
    # ISO 639-1 code -> the queue of agents who read it; `other_languages` takes the rest
    by_language: dict[str, str] = Field(default_factory=dict)
    other_languages: str | None = None


class PriorityRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    levels: list[str] = Field(min_length=1)
    by_category: dict[str, str] = Field(default_factory=dict)
    urgent_words: list[str] = Field(default_factory=list)
    escalate_below_score: float = Field(ge=-1.0, le=1.0)
    escalate_negative_label: bool = True
    # levels a ticket in an active escalation incident moves up (once); 0: incidents change nothing
    incident_raise: int = Field(default=0, ge=0, strict=True)


class RoutingRules(BaseModel):
    """The parsed `routing.yaml`; every method is a pure function of the rules and its inputs."""

    model_config = ConfigDict(extra="forbid")

    teams: TeamRules
    priority: PriorityRules
    sla_minutes: dict[str, float]

    @model_validator(mode="after")
    def _consistent(self) -> RoutingRules:
        levels = set(self.priority.levels)
        problems = []
        if missing := levels - set(self.sla_minutes):
            problems.append(f"sla_minutes lacks {sorted(missing)}")
        if unknown := set(self.priority.by_category.values()) - levels:
            problems.append(f"priority.by_category uses unknown levels {sorted(unknown)}")
        if self.priority.incident_raise >= len(self.priority.levels):
            problems.append(
                f"priority.incident_raise is {self.priority.incident_raise}, more than the "
                f"{len(self.priority.levels) - 1} levels above the lowest"
            )
        named = set(self.teams.by_category) | set(self.priority.by_category)
        named |= {c for brand in self.teams.by_brand.values() for c in brand}
        if unknown := named - set(CATEGORIES):
            problems.append(f"rules name unknown categories {sorted(unknown)}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def lowest(self) -> str:
        return self.priority.levels[-1]

    @cached_property
    def _urgent(self) -> re.Pattern[str] | None:
        words = [re.escape(w) for w in self.priority.urgent_words]
        return re.compile(rf"\b({'|'.join(words)})\b", re.IGNORECASE) if words else None

    def category_of(self, analysis: Analysis) -> str:
        """The predicted category, or the fallback for a label the rules do not know."""
        category = analysis.category
        return category if category in CATEGORIES else FALLBACK_CATEGORY

    def team_for(self, category: str, brand: str | None, language: str | None = None) -> str:
        """A tweet in another language goes to the queue that reads it; otherwise the brand's
        own team for this category, else the category's team, else the default."""
        if language and language != ENGLISH:
            queue = self.teams.by_language.get(language) or self.teams.other_languages
            if queue:
                return queue
        brand_teams = self.teams.by_brand.get(brand or "", {})
        return brand_teams.get(category) or self.teams.by_category.get(category, self.teams.default)

    def urgent_words_in(self, text: str) -> list[str]:
        if self._urgent is None:
            return []
        return sorted({m.group(1).lower() for m in self._urgent.finditer(text)})

    def priority_for(self, analysis: Analysis, text: str) -> str:
        """Urgent words win outright; otherwise the category's level, one up if the customer is angry."""
        levels = self.priority.levels
        if self.urgent_words_in(text):
            return levels[0]
        start = self.priority.by_category.get(self.category_of(analysis), self.lowest)
        rank = levels.index(start)
        if self._escalates(analysis):
            rank = max(rank - 1, 0)
        return levels[rank]

    def more_urgent(self, a: str, b: str) -> str:
        levels = self.priority.levels
        return a if levels.index(a) <= levels.index(b) else b

    def incident_priority(self, priority: str) -> str:
        """The priority of a ticket in an active incident: `priority.incident_raise` levels up,
        capped at the most urgent level (a level the rules no longer know stays as it is)."""
        levels = self.priority.levels
        if priority not in levels:
            return priority
        return levels[max(levels.index(priority) - self.priority.incident_raise, 0)]

    def sla_due(self, priority: str, created_at: datetime) -> datetime:
        return created_at + timedelta(minutes=self.sla_minutes[priority])

    def _escalates(self, analysis: Analysis) -> bool:
        score = analysis.sentiment_score
        if score is not None and score <= self.priority.escalate_below_score:
            return True
        return self.priority.escalate_negative_label and analysis.sentiment == "negative"


def resolve_config(path: Path) -> Path:
    """The path as given, or under the project root when a relative path is missing here."""
    if path.exists() or path.is_absolute():
        return path
    return PROJECT_ROOT / path


def load_yaml(path: Path, what: str) -> dict:
    found = resolve_config(path)
    try:
        loaded = yaml.safe_load(found.read_text(encoding="utf-8"))
    except OSError as err:
        raise UserError(f"cannot read the {what} file {found}: {err.strerror}") from err
    except yaml.YAMLError as err:
        raise UserError(f"the {what} file {found} is not valid YAML: {err}") from err
    if not isinstance(loaded, dict):
        raise UserError(f"the {what} file {found} must hold a mapping at the top level")
    return loaded


def load_routing(path: Path) -> RoutingRules:
    """Parse and check `routing.yaml`; any problem is one clear `UserError`."""
    try:
        return RoutingRules.model_validate(load_yaml(path, "routing rules"))
    except ValidationError as err:
        raise UserError(
            f"bad routing rules in {resolve_config(path)}: {describe_validation(err)}"
        ) from err
