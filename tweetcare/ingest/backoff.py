"""How long to wait before reconnecting, as X's filtered-stream docs ask.

Network errors (a dropped connection, a stall): back off linearly, 250 ms more each time, up to
16 s. HTTP errors: exponentially from 5 s, doubling up to 320 s. HTTP 429: exponentially from
1 minute; when X says when the window reopens (`x-rate-limit-reset`), the first wait is until
then and later ones are never shorter than it. A connection that gets through resets all three.
"""

from __future__ import annotations

from dataclasses import dataclass

# a little past the reset instant, so the clocks of X and this host need not agree to the ms
RESET_MARGIN_S = 1.0


@dataclass(frozen=True)
class BackoffPolicy:
    network_step_s: float = 0.25
    network_cap_s: float = 16.0
    http_start_s: float = 5.0
    http_cap_s: float = 320.0
    rate_limit_start_s: float = 60.0
    rate_limit_cap_s: float = 960.0


class Reconnects:
    """The waits of consecutive failures of one connection (not thread-safe: one per loop)."""

    def __init__(self, policy: BackoffPolicy | None = None) -> None:
        self.policy = policy or BackoffPolicy()
        self.network = self.http = self.rate_limited = 0

    def connected(self) -> None:
        self.network = self.http = self.rate_limited = 0

    def after_network_error(self) -> float:
        self.network += 1
        return min(self.policy.network_step_s * self.network, self.policy.network_cap_s)

    def after_http_error(self) -> float:
        self.http += 1
        return min(self.policy.http_start_s * 2 ** (self.http - 1), self.policy.http_cap_s)

    def after_rate_limit(self, until_reset: float | None) -> float:
        """`until_reset`: seconds until x-rate-limit-reset, None when the answer had none."""
        self.rate_limited += 1
        start, cap = self.policy.rate_limit_start_s, self.policy.rate_limit_cap_s
        if until_reset is None:
            return min(start * 2 ** (self.rate_limited - 1), cap)
        until = max(until_reset, 0.0) + RESET_MARGIN_S
        if self.rate_limited == 1:
            return until
        return max(until, min(start * 2 ** (self.rate_limited - 2), cap))
