"""Sequence planning: which message goes to whom, when, and until when it may go.

Offsets are elapsed time on the UTC timeline: `before = 24h` is due at start - 24 h even
across a DST change. Each send's window is half-open, [due, expires): it closes when the
next step on the same channel for the same participant is due, or when the session
starts, whichever comes first. So a late cron never sends the 24 h and the 30 min SMS
together, and nothing goes after the start.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from linkcli.core.model import Appointment


@dataclass(frozen=True)
class Step:
    """One step of the sequence: on creation (`before` is None) or a time before start."""

    name: str
    channels: tuple[str, ...]
    before: timedelta | None = None

    @property
    def on_created(self) -> bool:
        """True for steps sent when the appointment appears (the booking confirmation)."""
        return self.before is None


@dataclass(frozen=True)
class PlannedSend:
    """One message: a participant x a step x a channel, for one revision of the session."""

    key: str
    appointment_id: str
    participant_id: str
    step: str
    channel: str
    revision: int
    due_at: datetime
    expires_at: datetime


def send_key(
    appointment_id: str, participant_id: str, step: str, channel: str, revision: int
) -> str:
    """The unique key that lets the database refuse a duplicate send."""
    return f"{appointment_id}/{participant_id}/{step}/{channel}/r{revision}"


def plan_appointment(
    appointment: Appointment,
    revision: int,
    steps: Iterable[Step],
    now: datetime,
    created_at: datetime | None = None,
    created_for: Iterable[str] | None = None,
) -> list[PlannedSend]:
    """Every send of this revision whose window is still open at `now`.

    `created_at` is when the appointment (or this revision of it) was first seen; the
    on-created steps are planned only when it is given, and only for the participants in
    `created_for` when that is given (a client added to a group gets a confirmation, the
    others do not get a second one).
    """
    if not appointment.is_live_telehealth or appointment.start <= now:
        return []
    steps = tuple(steps)
    chosen = set(created_for) if created_for is not None else None
    planned: list[PlannedSend] = []
    for participant in appointment.participants:
        with_created = created_at is not None and (chosen is None or participant.id in chosen)
        channels = dict.fromkeys(c for s in steps for c in s.channels)
        for channel in channels:
            timeline: list[tuple[datetime, int, Step]] = []
            for order, step in enumerate(steps):
                if channel not in step.channels:
                    continue
                if step.before is None:
                    if with_created and created_at is not None:
                        timeline.append((created_at, order, step))
                else:
                    timeline.append((appointment.start - step.before, order, step))
            timeline.sort(key=lambda item: (item[0], item[1]))
            for i, (due, _order, step) in enumerate(timeline):
                expires = appointment.start
                if i + 1 < len(timeline):
                    expires = min(expires, timeline[i + 1][0])
                if expires <= now or expires <= due:
                    continue  # its moment passed before it could be planned
                planned.append(
                    PlannedSend(
                        key=send_key(appointment.id, participant.id, step.name, channel, revision),
                        appointment_id=appointment.id,
                        participant_id=participant.id,
                        step=step.name,
                        channel=channel,
                        revision=revision,
                        due_at=due,
                        expires_at=expires,
                    )
                )
    planned.sort(key=lambda s: (s.due_at, s.participant_id, s.step, s.channel))
    return planned
