"""Turn a diff into the writes of one sync: snapshot rows, sends to add and to withdraw.

Pure: it sees the diff, what the store says is pending or already sent, and the clock
value; the store applies the result in one transaction ("plan, then act").
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from linkcli.core.diff import Change, Diff
from linkcli.core.model import Appointment, Participant
from linkcli.core.plan import PlannedSend, Step, plan_appointment, send_key
from linkcli.core.when import people_time


@dataclass(frozen=True)
class PendingSend:
    """What the reconciler needs to know of a pending send already in the store."""

    key: str
    appointment_id: str
    participant_id: str
    step: str
    channel: str


@dataclass(frozen=True)
class SentMessage:
    """A message that already went out for an appointment."""

    participant_id: str
    step: str
    channel: str


LINK_CHANGED = "link-changed"
CANCELLATION = "cancellation"


@dataclass(frozen=True)
class Notice:
    """Something a human should look at, tied to an appointment (and maybe a person)."""

    key: str
    appointment_id: str
    kind: str
    reason: str
    fix: str
    participant_id: str | None = None


@dataclass(frozen=True)
class SnapshotWrite:
    """The new snapshot row of one changed appointment."""

    appointment: Appointment
    revision: int
    first_seen: bool


@dataclass
class SyncPlan:
    """Everything one sync will write, computed before anything is written."""

    writes: list[SnapshotWrite] = field(default_factory=list)
    inserts: list[PlannedSend] = field(default_factory=list)
    cancel_keys: list[str] = field(default_factory=list)
    cancel_reasons: dict[str, str] = field(default_factory=dict)
    notices: list[Notice] = field(default_factory=list)


def reconcile(
    result: Diff,
    revisions: Mapping[str, int],
    pending: Sequence[PendingSend],
    sent: Mapping[str, set[SentMessage]],
    steps: Sequence[Step],
    now: datetime,
    adopting: bool,
    link_changed: bool = True,
    cancellation: bool = True,
    zone: str = "UTC",
    reachable: Callable[[Participant, str], bool] | None = None,
) -> SyncPlan:
    """Plan the writes for `result`.

    `revisions` holds each known appointment's revision; `pending` the pending sends of
    the changed appointments; `sent` what already went out per appointment. When
    `adopting` (the first sync of a new store), new appointments get no booking
    confirmation: they were booked before linkcli was installed. Only channels
    `reachable(participant, channel)` says a client can receive are planned. A client who
    already
    holds a link gets a `link-changed` message when it changes and, when `cancellation`,
    a cancellation email (its calendar file removes the event) when the session is
    cancelled.
    """
    plan = SyncPlan()
    scheduled_steps = {s.name for s in steps if not s.on_created}
    pending_by_appt: dict[str, list[PendingSend]] = {}
    for send in pending:
        pending_by_appt.setdefault(send.appointment_id, []).append(send)

    def cancel(sends: Sequence[PendingSend], reason: str) -> None:
        for send in sends:
            if send.key not in plan.cancel_reasons:
                plan.cancel_keys.append(send.key)
                plan.cancel_reasons[send.key] = reason

    can = reachable or (lambda _participant, _channel: True)

    def reached(appointment: Appointment, pids: set[str], channel: str) -> set[str]:
        return {p.id for p in appointment.participants if p.id in pids and can(p, channel)}

    for change in result.changes:
        after = change.after
        old_pending = pending_by_appt.get(change.appointment_id, [])
        revision = revisions.get(change.appointment_id, 0)
        if change.kind == "created":
            revision = 1
            created_at = None if adopting else now
            plan.inserts += plan_appointment(after, revision, steps, now, created_at, reachable=can)
        elif change.kind in ("rescheduled", "restored"):
            revision += 1
            cancel(old_pending, change.kind)
            created_at = now if change.kind == "rescheduled" else None
            plan.inserts += plan_appointment(
                after, revision, steps, now, created_at, reachable=can, created_yields=True
            )
            reminded = {m.step for m in sent.get(change.appointment_id, set())} & scheduled_steps
            if change.kind == "rescheduled" and reminded:
                plan.notices.append(_moved_after_reminder(change, revision, zone))
        elif change.kind == "canceled":
            cancel(old_pending, change.detail or "canceled")
            if cancellation and after.status == "canceled" and after.start > now:
                told = {m.participant_id for m in sent.get(change.appointment_id, set())}
                plan.inserts += _follow_ups(
                    after,
                    revision,
                    reached(after, told, "email"),
                    ("email",),
                    CANCELLATION,
                    "",
                    now,
                )
        else:  # updated
            before_ids = {p.id for p in change.before.participants} if change.before else set()
            present = {p.id for p in after.participants}
            if not after.is_live_telehealth:
                cancel(old_pending, f"no longer a telehealth session ({after.format})")
            else:
                cancel(
                    [s for s in old_pending if s.participant_id not in present],
                    "participant removed",
                )
                people = {p.id: p for p in after.participants}
                cancel(
                    [
                        s
                        for s in old_pending
                        if s.participant_id in people
                        and not can(people[s.participant_id], s.channel)
                    ],
                    "the client can no longer receive this channel",
                )
            added = present - before_ids
            plan.inserts += plan_appointment(
                after,
                max(revision, 1),
                steps,
                now,
                created_at=now if added else None,
                created_for=added,
                reachable=can,
            )
            moved_link = change.before is not None and (
                change.before.telehealth_url != after.telehealth_url
            )
            if link_changed and moved_link and after.is_live_telehealth and after.start > now:
                # Everyone who holds the old link hears of the new one, on the channels
                # they were reached on; the key carries the link, so each change goes once.
                for message_channel in ("sms", "email"):
                    holders = reached(
                        after,
                        {
                            m.participant_id
                            for m in sent.get(change.appointment_id, set())
                            if m.channel == message_channel
                        },
                        message_channel,
                    )
                    # Keyed by the new link and the moment of the change: A -> B -> A -> B
                    # tells the client every time, and no change is told twice.
                    plan.inserts += _follow_ups(
                        after,
                        max(revision, 1),
                        holders,
                        (message_channel,),
                        LINK_CHANGED,
                        f"{_short_hash(after.telehealth_url or '')}-{now:%Y%m%dT%H%M%SZ}",
                        now,
                    )
        plan.writes.append(SnapshotWrite(after, max(revision, 1), change.before is None))
    return plan


def _follow_ups(
    appointment: Appointment,
    revision: int,
    participants: set[str],
    channels: tuple[str, ...],
    step: str,
    tag: str,
    now: datetime,
) -> list[PlannedSend]:
    """One-off messages caused by a change, due now and sendable until the start."""
    return [
        PlannedSend(
            key=send_key(appointment.id, pid, step, channel, revision, tag),
            appointment_id=appointment.id,
            participant_id=pid,
            step=step,
            channel=channel,
            revision=revision,
            due_at=now,
            expires_at=appointment.start,
        )
        for pid in sorted(participants)
        for channel in channels
    ]


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _moved_after_reminder(change: Change, revision: int, zone: str) -> Notice:
    tz = ZoneInfo(zone)
    old = change.before.start.astimezone(tz) if change.before else None
    new = change.after.start.astimezone(tz)
    moved = (
        f"moved from {people_time(old, tz)} to {people_time(new, tz, zone_name=True)}"
        if old
        else change.detail
    )
    return Notice(
        key=f"moved-after-reminder/{change.appointment_id}/r{revision}",
        appointment_id=change.appointment_id,
        kind="moved_after_reminder",
        reason=f"rescheduled after a reminder went out ({moved})",
        fix="new reminders with the new time go out automatically; consider calling the "
        "client to confirm they know",
    )
