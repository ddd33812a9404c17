"""The sync window: which session starts a sync reads. One rule, used by every source
and by the diff, so a session at a window's edge is never in one place and out of
another."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Window:
    """The span of session starts a sync reads: [start, end)."""

    start: datetime
    end: datetime

    def __contains__(self, start: object) -> bool:
        """Whether a session starting at `start` belongs here, whatever a source's API
        filtered on (half-open: a session starting exactly at `end` is the next
        window's)."""
        return isinstance(start, datetime) and self.start <= start < self.end
