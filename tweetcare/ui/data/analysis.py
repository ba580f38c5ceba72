"""Try a tweet: one analysed text as the page shows it, entities marked, the ticket decision."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tweetcare.core.schemas import Analysis, Classification

ANALYZE = "analyze"
CLASSIFY = "classify"

ENTITY_COLORS: dict[str, str] = {
    "LOCATION": "#d0ebff",
    "PERSON": "#ffe3e3",
    "ORDER_ID": "#fff3bf",
    "FLIGHT": "#e5dbff",
    "AMOUNT": "#d3f9d8",
    "PHONE": "#ffd8a8",
    "EMAIL": "#ffd8a8",
}
DEFAULT_ENTITY_COLOR = "#e9ecef"


@dataclass(frozen=True)
class AnalysisView:
    """One analysed tweet as the page shows it; `endpoint` says how much the server could tell."""

    text: str
    endpoint: str
    analysis: Analysis
    # why the full analysis is missing (the server's own words), when it is
    note: str = ""

    @property
    def label(self) -> str:
        return "inbound" if self.analysis.inbound else "outbound"

    @property
    def confidence(self) -> float:
        """Probability of the predicted label (not of 'inbound')."""
        return label_confidence(self.analysis.inbound, self.analysis.inbound_probability)

    @property
    def complete(self) -> bool:
        """False when only /classify answered: no sentiment, category or entities to show."""
        return self.endpoint == ANALYZE


def label_confidence(inbound: bool, inbound_probability: float) -> float:
    return inbound_probability if inbound else 1.0 - inbound_probability


def analysis_view(
    text: str, answer: Mapping[str, Any], endpoint: str, note: str = ""
) -> AnalysisView:
    """Read one item of an /analyze answer, or turn a /classify one into the same shape.

    A /classify answer knows only the inbound decision; like the stream before /analyze, it
    treats every predicted customer tweet as needing a ticket and masks nothing.
    """
    if endpoint == ANALYZE:
        return AnalysisView(text, endpoint, Analysis.model_validate(answer))
    classification = Classification.model_validate(answer)
    analysis = Analysis(
        inbound=classification.inbound,
        inbound_probability=classification.inbound_probability,
        needs_ticket=classification.inbound,
        masked_text=text,
    )
    return AnalysisView(text, CLASSIFY, analysis, note)


def highlight_entities(text: str, entities: Iterable[Any]) -> str:
    """HTML of `text` with each entity marked and labelled; the entity's own `text` is shown,
    so PII the analyser masked (phones, emails) never reaches the page. Overlaps keep the first."""
    spans = sorted((_entity_dict(e) for e in entities), key=lambda e: (e["start"], -e["end"]))
    pieces: list[str] = []
    cursor = 0
    for entity in spans:
        start, end = entity["start"], min(entity["end"], len(text))
        if start < cursor or start >= end:
            continue
        pieces.append(html.escape(text[cursor:start]))
        color = ENTITY_COLORS.get(entity["label"], DEFAULT_ENTITY_COLOR)
        pieces.append(
            f'<mark style="background:{color};padding:0 .2em;border-radius:.2em" '
            f'title="{html.escape(entity["label"])}">{html.escape(entity["text"])}'
            f" <small><b>{html.escape(entity['label'])}</b></small></mark>"
        )
        cursor = end
    pieces.append(html.escape(text[cursor:]))
    return "".join(pieces)


def ticket_decision(view: AnalysisView) -> str:
    """One sentence: does this tweet open a ticket, and why (not)."""
    analysis = view.analysis
    if not analysis.inbound:
        return "No ticket: this reads as a brand's reply, not a customer."
    if analysis.needs_ticket:
        about = f" about **{analysis.category}**" if analysis.category else ""
        return f"Opens a ticket{about}."
    if analysis.flags:
        return "No ticket: flagged " + ", ".join(f"`{flag}`" for flag in analysis.flags) + "."
    return "No ticket: nothing here needs an agent."


def _entity_dict(entity: Any) -> dict[str, Any]:
    if isinstance(entity, Mapping):
        return dict(entity)
    return entity.model_dump()
