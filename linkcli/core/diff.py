"""Snapshot diff: what changed between the last good listing and this one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from linkcli.core.model import Appointment
from linkcli.core.window import Window

ChangeKind = Literal["created", "rescheduled", "canceled", "updated", "restored"]


@dataclass(frozen=True)
class Change:
    """One appointment's change. `before` is the snapshot's view, `after` the listing's."""

    kind: ChangeKind
    appointment_id: str
    before: Appointment | None
    after: Appointment
    detail: str = ""


@dataclass(frozen=True)
class Diff:
    """All changes of one sync, plus how many appointments were seen unchanged."""

    changes: tuple[Change, ...] = ()
    unchanged: int = 0
    vanished: tuple[str, ...] = field(default_factory=tuple)

    def count(self, kind: ChangeKind) -> int:
        """How many changes of `kind`."""
        return sum(1 for c in self.changes if c.kind == kind)


def _updated_fields(before: Appointment, after: Appointment) -> list[str]:
    fields = []
    if before.telehealth_url != after.telehealth_url:
        fields.append("link")
    if before.therapist != after.therapist:
        fields.append("therapist")
    if before.participants != after.participants:
        fields.append("participants")
    if before.format != after.format:
        fields.append("format")
    if before.end != after.end:
        fields.append("end")
    if before.status != after.status:
        fields.append(f"status {after.status}")
    return fields


def classify(before: Appointment | None, after: Appointment) -> Change | None:
    """The change from `before` to `after`, or None when nothing that matters moved."""
    if before is None:
        return Change("created", after.id, None, after)
    if before.digest() == after.digest():
        return None
    was_live = before.status == "scheduled"
    is_live = after.status == "scheduled"
    if was_live and not is_live:
        return Change("canceled", after.id, before, after, f"status {after.status}")
    if not was_live and is_live:
        return Change("restored", after.id, before, after, f"status was {before.status}")
    if is_live and before.start != after.start:
        detail = f"moved from {before.start.isoformat()} to {after.start.isoformat()}"
        return Change("rescheduled", after.id, before, after, detail)
    fields = _updated_fields(before, after)
    return Change("updated", after.id, before, after, ", ".join(fields))


def diff(
    snapshot: Mapping[str, Appointment],
    listing: Sequence[Appointment],
    window_start: datetime,
    window_end: datetime,
    keep: Set[str] = frozenset(),
    complete: bool = True,
) -> Diff:
    """Compare a complete listing with the snapshot.

    An appointment missing from the listing but inside the window, and still scheduled
    in the snapshot, has vanished: it counts as canceled (SimplePractice's feed simply
    drops cancelled sessions). One outside the window is left alone, and so is one in
    `keep` (its record was malformed this time) or any when the listing is not `complete`.
    """
    changes: list[Change] = []
    unchanged = 0
    seen: set[str] = set()
    for appointment in listing:
        seen.add(appointment.id)
        change = classify(snapshot.get(appointment.id), appointment)
        if change is None:
            unchanged += 1
        else:
            changes.append(change)
    vanished: list[str] = []
    for aid, before in snapshot.items():
        if not complete or aid in seen or aid in keep or before.status != "scheduled":
            continue
        if before.start in Window(window_start, window_end):
            vanished.append(aid)
            gone = replace(before, status="canceled")
            changes.append(Change("canceled", aid, before, gone, "vanished from the listing"))
    return Diff(tuple(changes), unchanged, tuple(vanished))


def vanish_refusal(
    gone: int, upcoming: int, ratio: float, minimum: int, listed: int | None = None
) -> str | None:
    """Why a listing in which `gone` of `upcoming` scheduled sessions silently vanished
    looks like a broken feed rather than a mass cancellation, or None.

    Only silent vanishing counts: explicit cancellations (a snow day) are honoured. A
    listing with nothing in it at all (`listed` 0) while upcoming sessions vanish is
    refused whatever the counts: a solo practice's emptied export is not three
    cancellations.
    """
    if gone > minimum and gone > ratio * upcoming:
        return (
            f"{gone} of {upcoming} upcoming appointments vanished from the listing at "
            "once; refusing it as a suspicious feed (run `linkcli sync --force` if they really "
            "were cancelled)"
        )
    if listed == 0 and gone:
        return (
            f"the listing is empty while {gone} upcoming appointment(s) are scheduled; "
            "refusing it as a suspicious feed (run `linkcli sync --force` if they really "
            "were all cancelled)"
        )
    return None
