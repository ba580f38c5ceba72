"""Drafted acknowledgements and the safety gate that decides which ones go out on their own.

A template may use the ticket number and nothing else, and that is checked when the file is
loaded: a reply built only from a fixed sentence and a ticket number cannot echo what the customer
wrote, so no phone number, email or order id can leak into a public tweet. The gate then sends a
draft automatically only when the models were confident; everything else waits for a person.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tweetcare.core.errors import UserError, describe_validation
from tweetcare.core.pii import mask_pii
from tweetcare.core.schemas import Analysis
from tweetcare.tickets.models import AUTO, PENDING, TICKET_NUMBER_MAX, ticket_reference
from tweetcare.tickets.routing import load_yaml, resolve_config

# the only field a template may name: the ticket's number as people see it (`#10482`)
NUMBER_FIELD = "ticket_number"
TEMPLATE_FIELDS = frozenset({NUMBER_FIELD})
# the longest ticket number there is, to check every template's length once at load time
_LONGEST_REFERENCE = ticket_reference(TICKET_NUMBER_MAX)


class GateRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_inbound_probability: float = Field(ge=0.0, le=1.0)
    min_category_confidence: float = Field(ge=0.0, le=1.0)
    hold_priorities: list[str] = Field(default_factory=list)
    require_sentiment: bool = True
    max_chars: int = Field(default=280, gt=0)


class ReplyTemplates(BaseModel):
    """The parsed `replies.yaml`: one template per category, a default and the gate's limits."""

    model_config = ConfigDict(extra="forbid")

    default: str
    by_category: dict[str, str] = Field(default_factory=dict)
    gate: GateRules

    @model_validator(mode="after")
    def _safe_templates(self) -> ReplyTemplates:
        for name, template in {"default": self.default, **self.by_category}.items():
            fields = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
            if fields - TEMPLATE_FIELDS or NUMBER_FIELD not in fields:
                raise ValueError(
                    f"template {name!r} must use {{{NUMBER_FIELD}}} and no other field "
                    f"(it uses {sorted(fields) or 'none'}): replies never echo the tweet"
                )
            size = len(template.format_map({NUMBER_FIELD: _LONGEST_REFERENCE}))
            if size >= self.gate.max_chars:
                raise ValueError(
                    f"template {name!r} renders to {size} characters; "
                    f"the limit is under {self.gate.max_chars}"
                )
        return self

    def render(self, category: str, reference: str) -> str:
        """The category's template with the ticket's number (`#10482`) filled in."""
        template = self.by_category.get(category, self.default)
        return " ".join(template.format_map({NUMBER_FIELD: reference}).split())


@dataclass(frozen=True)
class Draft:
    text: str
    decision: str  # AUTO or PENDING
    reasons: list[str]


def gate_reasons(rules: GateRules, analysis: Analysis, priority: str, text: str) -> list[str]:
    """Every reason to hold a draft for a person; empty means it may go out on its own."""
    reasons = []
    if analysis.inbound_probability < rules.min_inbound_probability:
        reasons.append(
            f"inbound probability {analysis.inbound_probability:.2f} "
            f"< {rules.min_inbound_probability:.2f}"
        )
    confidence = analysis.category_confidence
    if confidence is None or confidence < rules.min_category_confidence:
        shown = "none" if confidence is None else f"{confidence:.2f}"
        reasons.append(f"category confidence {shown} < {rules.min_category_confidence:.2f}")
    if rules.require_sentiment and analysis.sentiment is None:
        reasons.append("no sentiment prediction")
    if priority in rules.hold_priorities:
        reasons.append(f"priority {priority} always gets a human look")
    if analysis.flags:
        reasons.append(f"flagged: {', '.join(analysis.flags)}")
    reasons.extend(_leaks(rules, analysis, text))
    return reasons


def draft_reply(
    templates: ReplyTemplates, analysis: Analysis, category: str, priority: str, reference: str
) -> Draft:
    """The acknowledgement for a new ticket (`reference`: its number, `#10482`) and the gate's
    decision on it."""
    text = templates.render(category, reference)
    reasons = gate_reasons(templates.gate, analysis, priority, text)
    return Draft(text=text, decision=PENDING if reasons else AUTO, reasons=reasons)


def load_replies(path: Path) -> ReplyTemplates:
    """Parse and check `replies.yaml`; any problem is one clear `UserError`."""
    try:
        return ReplyTemplates.model_validate(load_yaml(path, "reply templates"))
    except ValidationError as err:
        raise UserError(
            f"bad reply templates in {resolve_config(path)}: {describe_validation(err)}"
        ) from err


def _leaks(rules: GateRules, analysis: Analysis, text: str) -> list[str]:
    """Belt and braces behind the template check: length, PII patterns, the tweet's entities."""
    found = []
    if len(text) >= rules.max_chars:
        found.append(f"{len(text)} characters, not under {rules.max_chars}")
    if mask_pii(text) != text:
        found.append("the reply contains a phone number or an email")
    lowered = text.lower()
    echoed = sorted(
        {e.label for e in analysis.entities if len(e.text) > 3 and e.text.lower() in lowered}
    )
    if echoed:
        found.append(f"the reply repeats the tweet's {', '.join(echoed)}")
    return found
