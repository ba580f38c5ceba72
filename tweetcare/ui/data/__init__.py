"""What the console's pages show, computed by pure functions from plain records.

The backends hand over dicts and frames; everything here is deterministic given `now`, so the
figures an agent reads (confidence, SLA countdown, tweets per second, response times) are unit
tested without a browser, a model server or a database. One module per page.
"""

from tweetcare.ui.data.analysis import (
    ANALYZE,
    CLASSIFY,
    AnalysisView,
    analysis_view,
    highlight_entities,
    label_confidence,
    ticket_decision,
)
from tweetcare.ui.data.durations import format_duration, parse_time, sla_text
from tweetcare.ui.data.labels import (
    DEFAULT_BOUNDARY,
    LAKE_COLUMNS,
    SHADOW_COLUMNS,
    boundary_distance,
    label_queue,
)
from tweetcare.ui.data.live import (
    LiveTotals,
    first_response_from_lake,
    first_response_from_tickets,
    live_timeline,
    live_totals,
)
from tweetcare.ui.data.models import (
    COMPARISON_METRICS,
    RunRecord,
    VersionRecord,
    champion_explanation,
    comparison_frame,
)
from tweetcare.ui.data.monitoring import (
    MONITORING_COLUMNS,
    WindowDetail,
    alert_table,
    breach_table,
    describe_incident,
    format_when,
    incident_banner_text,
    incident_table,
    metric_history,
    window_detail,
    window_ends,
    window_table,
)
from tweetcare.ui.data.queues import (
    FILTER_COLUMNS,
    UNASSIGNED,
    filter_options,
    filter_queue,
    opened_time,
    priority_rank,
    queue_frame,
    queue_table,
    queues_by_team,
    ticket_label,
)

__all__ = [
    "ANALYZE",
    "CLASSIFY",
    "COMPARISON_METRICS",
    "DEFAULT_BOUNDARY",
    "FILTER_COLUMNS",
    "LAKE_COLUMNS",
    "MONITORING_COLUMNS",
    "SHADOW_COLUMNS",
    "UNASSIGNED",
    "AnalysisView",
    "LiveTotals",
    "RunRecord",
    "VersionRecord",
    "WindowDetail",
    "alert_table",
    "analysis_view",
    "boundary_distance",
    "breach_table",
    "champion_explanation",
    "comparison_frame",
    "describe_incident",
    "filter_options",
    "filter_queue",
    "first_response_from_lake",
    "first_response_from_tickets",
    "format_duration",
    "format_when",
    "highlight_entities",
    "incident_banner_text",
    "incident_table",
    "label_confidence",
    "label_queue",
    "live_timeline",
    "live_totals",
    "metric_history",
    "opened_time",
    "parse_time",
    "priority_rank",
    "queue_frame",
    "queue_table",
    "queues_by_team",
    "sla_text",
    "ticket_decision",
    "ticket_label",
    "window_detail",
    "window_ends",
    "window_table",
]
