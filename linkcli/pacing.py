"""Pacing sends to a provider's per-sender limit (Twilio: about 1 text/s on a long code).

Real elapsed time, not the run's clock: pacing is about how fast requests leave this
machine, whatever instant LINKCLI_NOW simulates. Both time functions are injectable.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Pacer:
    """Spaces calls to `wait()` at least 1/per_second apart (no limit when None)."""

    def __init__(
        self,
        per_second: float | None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.gap = 1.0 / per_second if per_second else 0.0
        self.monotonic = monotonic
        self.sleep = sleep
        self.next_at: float | None = None

    def wait(self) -> None:
        """Block until the next send may leave."""
        if not self.gap:
            return
        now = self.monotonic()
        if self.next_at is not None and now < self.next_at:
            self.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = now + self.gap
