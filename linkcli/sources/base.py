"""What every source produces: a listing of canonical appointments for a window."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from linkcli.core.model import Appointment
from linkcli.core.window import Window

__all__ = ["Listing", "SkipsUnchanged", "Source", "Window"]


@dataclass
class Listing:
    """A listing read whole. `problems` are records reported and skipped, one line each.

    A skipped record must never look like a cancellation: its id goes in `skipped_ids`,
    and a skipped record without an id clears `complete`, so nothing vanishes this sync.
    """

    appointments: list[Appointment] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skipped_ids: set[str] = field(default_factory=set)
    complete: bool = True
    # Sources that can fingerprint their raw records cheaply (the file source) report
    # them, and leave out of `appointments` the records whose fingerprint the snapshot
    # already holds: those are `unchanged_ids`, still listed, never parsed again.
    raw_digests: dict[str, str] = field(default_factory=dict)
    unchanged_ids: set[str] = field(default_factory=set)
    listed_ids: set[str] = field(default_factory=set)  # every id read, in window or not

    def add(self, appointment: Appointment, window: Window, label: str) -> None:
        """Take one parsed record: a repeated id is a problem (the first one stands), and
        only starts in the half-open window are listed, whatever the API filtered on."""
        if appointment.id in self.listed_ids:
            self.skip(f"{label} skipped: id {appointment.id!r} repeats", appointment.id)
            return
        self.listed_ids.add(appointment.id)
        if appointment.start in window:
            self.appointments.append(appointment)

    def skip(self, problem: str, record_id: str | None) -> None:
        """Report one record that could not be used."""
        self.problems.append(problem)
        if record_id:
            self.skipped_ids.add(record_id)
        else:
            self.complete = False


class Source(Protocol):
    """Reads the schedule. Raises SourceError when the listing cannot be read whole."""

    name: str

    def fetch(self, window: Window) -> Listing: ...


@runtime_checkable
class SkipsUnchanged(Protocol):
    """Can fingerprint its raw records cheaply (the file source): given the fingerprints
    the snapshot holds, it leaves records that read the same out of the parse."""

    known_raw: Mapping[str, str] | None
