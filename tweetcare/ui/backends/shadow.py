"""The challenger's live record for the Models page: the lake's shadow answers, the gate's view."""

from __future__ import annotations

from deltalake.exceptions import DeltaError

from tweetcare.core.errors import UserError
from tweetcare.core.params import load_params
from tweetcare.core.settings import Settings
from tweetcare.monitoring.shadow import ShadowReport, shadow_report
from tweetcare.ui.backends.errors import FILL_LAKE, LAKE, BackendDown


def shadow_record(settings: Settings) -> ShadowReport:
    """The shadow report; without params.yaml to read the gate from, no verdict."""
    try:
        gate = load_params().shadow
    except UserError:
        gate = None
    try:
        return shadow_report(settings, gate)
    except (OSError, DeltaError) as err:
        reason = str(err).splitlines()[0]
        raise BackendDown(LAKE, settings.lake_location, reason, FILL_LAKE) from err
