"""Sequence planning: which message goes to whom, when, and until when it may go.

Offsets are elapsed time on the UTC timeline: `before = 24h` is due at start - 24 h even
across a DST change. Each send's window is half-open, [due, expires): it closes when the
next step on the same channel for the same participant is due, or when the session
starts, whichever comes first. So a late cron never sends the 24 h and the 30 min SMS
together, and nothing goes after the start.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from linkcli.core.model import Appointment, Participant


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
    appointment_id: str,
    participant_id: str,
    step: str,
    channel: str,
    revision: int,
    tag: str = "",
) -> str:
    """The unique key that lets the database refuse a duplicate send.

    Each part is escaped (`%` and `/`) before the parts are joined with `/`, so no id
    can make two sends share a key: appointment `A/p1` with participant `p2` and
    appointment `A` with participant `p1/p2` get two keys. Ids without `%` or `/` keep
    the key they always had (migration 0005 rewrote the others)."""
    parts = (appointment_id, participant_id, step, channel)
    suffix = f"r{revision}" + (f"-{tag}" if tag else "")
    return "/".join([*(_escape(part) for part in parts), suffix])


def _escape(part: str) -> str:
    return part.replace("%", "%25").replace("/", "%2F")


def plan_appointment(
    appointment: Appointment,
    revision: int,
    steps: Iterable[Step],
    now: datetime,
    created_at: datetime | None = None,
    created_for: Iterable[str] | None = None,
    reachable: Callable[[Participant, str], bool] | None = None,
    created_yields: bool = False,
) -> list[PlannedSend]:
    """Every send of this revision whose window is still open at `now`.

    `created_at` is when the appointment (or this revision of it) was first seen; the
    on-created steps are planned only when it is given, and only for the participants in
    `created_for` when that is given (a client added to a group gets a confirmation, the
    others do not get a second one). `reachable(participant, channel)` leaves out the
    channels a client cannot receive (no valid mobile, no email, not opted in): such a
    client simply has the shorter sequence. With `created_yields` (a reschedule), an
    on-created step gives way to a same-channel step whose window is already open, so
    a client moved on the same day gets the reminder with the new time, not both.
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
            if reachable is not None and not reachable(participant, channel):
                continue
            timeline: list[tuple[datetime, int, Step]] = [
                (appointment.start - step.before, order, step)
                for order, step in enumerate(steps)
                if channel in step.channels and step.before is not None
            ]
            if (
                with_created
                and created_at is not None
                and not (created_yields and _open_at(timeline, created_at, appointment.start))
            ):
                timeline += [
                    (created_at, order, step)
                    for order, step in enumerate(steps)
                    if channel in step.channels and step.before is None
                ]
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


def _open_at(timeline: list[tuple[datetime, int, Step]], moment: datetime, start: datetime) -> bool:
    """True when one of these scheduled steps may be sent at `moment`."""
    dues = sorted(due for due, _order, _step in timeline)
    for i, due in enumerate(dues):
        ends = min(start, dues[i + 1]) if i + 1 < len(dues) else start
        if due <= moment < ends:
            return True
    return False
