"""`linkcli explain APPOINTMENT_ID`: every step of one session's sequence, and why.

For each participant and each step x channel of the sequence: when it is due (in the
client's zone), to which masked address, the exact text, its state in the sends table,
and the reason it did, will, or will not go. Steps that were never planned get the
reason too (adopted at the first sync, window already passed, session not live), so an
operator never has to read the database to answer "why did this client get nothing?".
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from linkcli.compose import compose, effective_link, recipient_for, therapist_shown
from linkcli.config import Config
from linkcli.context import Context
from linkcli.core.messages import zone_for
from linkcli.core.model import Participant
from linkcli.core.plan import Step
from linkcli.core.replies import needs_human, shown_reply
from linkcli.core.segments import count_segments
from linkcli.core.verdict import ContactState, Verdict
from linkcli.errors import ExitCode, LinkcliError
from linkcli.shared import iso, local_time, mask
from linkcli.store import Known, SendRow, Store, parse_ts, ts
from linkcli.verdicts import Judge


def find_appointment(config: Config, store: Store, query: str, on: date | None) -> str:
    """The appointment id a person means: the id itself, a unique start of one, or with
    `on` (a day in the practice's zone) a client's name ("Alex", "Alex Rivera") that
    matches exactly one session that day. Several matches are a usage error listing them."""
    if on is None:
        if store.appointment(query) is not None:
            return query
        found = store.ids_starting_with(query) if query else []
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            shown = ", ".join(found[:5]) + (", ..." if len(found) > 5 else "")
            raise LinkcliError(
                f"{query!r} starts several appointment ids ({shown}); give more of it",
                ExitCode.USAGE,
            )
        return query  # reported below as not in the snapshot
    zone = ZoneInfo(config.practice.timezone)
    day = datetime.combine(on, time(0), zone)
    words = query.lower().split()
    matches = [
        (k.appointment.id, p.short_name)
        for k in store.appointments_between(day, day + timedelta(days=1))
        for p in k.appointment.participants
        if words and all(w in p.name.lower().split() for w in words)
    ]
    ids = list(dict.fromkeys(aid for aid, _ in matches))
    if len(ids) == 1:
        return ids[0]
    if not ids:
        raise LinkcliError(
            f"no session on {on:%a %b} {on.day} with a client named {query!r}; "
            "`linkcli status` and `linkcli preview` list the sessions",
            ExitCode.USAGE,
        )
    shown = ", ".join(f"{aid} ({who})" for aid, who in matches[:5])
    raise LinkcliError(
        f"{query!r} matches several sessions on {on:%a %b} {on.day}: {shown}; give the id",
        ExitCode.USAGE,
    )


def build_explain(
    ctx: Context, store: Store, appointment_id: str, on: date | None = None
) -> dict[str, Any]:
    """The whole explanation of one appointment as a JSON-ready object; the appointment
    as `find_appointment` reads the person's words."""
    config, now = ctx.config, ctx.now
    appointment_id = find_appointment(config, store, appointment_id, on)
    known = store.appointment(appointment_id)
    if known is None:
        kept = store.send_count_of(appointment_id)
        if kept:
            raise LinkcliError(
                f"appointment {appointment_id!r} is no longer in the snapshot: sessions older "
                f"than the retention period are removed ({kept} send record(s) remain in "
                "`linkcli status` counts)",
                ExitCode.USAGE,
            )
        raise LinkcliError(
            f"no appointment {appointment_id!r} in the snapshot ({config.store_path}); check "
            "the id in `linkcli status` or `linkcli preview --json`, or run `linkcli sync` if "
            "it was booked since the last sync",
            ExitCode.USAGE,
        )
    appt = known.appointment
    meta = store.seen(appointment_id)
    first_good = store.first_good_sync()
    good = store.last_good_sync()
    stale = good is None or now - good > config.max_snapshot_age
    rows = store.sends_of(appointment_id)
    practice_zone = ZoneInfo(config.practice.timezone)
    link = effective_link(config, appt)
    # Adopted: seen first by the store's first good sync, which sent no confirmation
    # (unless `sync --confirm-existing` asked for them).
    on_created = {s.name for s in config.sequence if s.on_created}
    confirmed = any(r.step in on_created and r.revision == 1 for r in rows)
    adopted = bool(meta.first_seen) and meta.first_seen == first_good and not confirmed
    facts = _Facts(
        config, store, known, now, stale, good, rows, adopted=adopted, changed_at=meta.changed_at
    )

    participant_ids = [p.id for p in appt.participants]
    participant_ids += sorted({r.participant_id for r in rows} - set(participant_ids))
    participants = [facts.participant(pid) for pid in participant_ids]
    notices = [
        {
            "kind": n.kind,
            "reason": n.reason,
            "fix": n.fix,
            "participant": n.participant_id,
        }
        for n in store.notices()
        if n.appointment_id == appointment_id
    ]
    return {
        "now": iso(ts(now)),
        "now_local": local_time(now, practice_zone),
        "appointment": {
            "id": appt.id,
            "status": appt.status,
            "format": appt.format,
            "start": iso(ts(appt.start)),
            "start_local": local_time(appt.start, practice_zone),
            "timezone": config.practice.timezone,
            "therapist": {
                "id": appt.therapist.id,
                "name": appt.therapist.name,
                "shown": therapist_shown(config, appt),
            },
            "link": link,
            "link_problem": config.links.check(link) if appt.is_live_telehealth else None,
            "revision": known.revision,
            "first_seen": iso(meta.first_seen),
            "first_seen_local": _local_ts(meta.first_seen, practice_zone),
            "changed_at": iso(meta.changed_at),
            "changed_at_local": _local_ts(meta.changed_at, practice_zone),
            "adopted_at_first_sync": facts.adopted,
        },
        "snapshot": {
            "last_good_sync": iso(ts(good)) if good else None,
            "last_good_sync_local": local_time(good, practice_zone) if good else None,
            "stale": stale,
        },
        "notices": notices,
        "participants": participants,
        "replies": [
            {
                "time": iso(r.received_at),
                "time_local": _local_ts(r.received_at, practice_zone),
                "number": mask("sms", r.number),
                "participant": r.participant_id,
                "kind": r.kind,
                "text": shown_reply(r.body),
                "answered": bool(r.answered),
                "unanswered_because": needs_human(
                    r.kind, bool(r.answered), r.reason, r.answer_state
                ),
            }
            for r in store.replies_about(appointment_id)
        ],
    }


def _local_ts(value: str | None, zone: ZoneInfo) -> str | None:
    return local_time(parse_ts(value), zone) if value else None


class _Facts:
    """What one explanation needs, gathered once."""

    def __init__(
        self,
        config: Config,
        store: Store,
        known: Known,
        now: datetime,
        stale: bool,
        good: datetime | None,
        rows: list[SendRow],
        adopted: bool,
        changed_at: str | None,
    ) -> None:
        self.config = config
        self.store = store
        self.known = known
        self.appt = known.appointment
        self.now = now
        self.stale = stale
        self.good = good
        self.rows = rows
        self.adopted = adopted
        this = [r for r in rows if r.revision == known.revision]
        # When this version of the session was planned: its first send row, else the
        # snapshot row's last change.
        self.planned_at = min((r.created_at for r in this), default=changed_at)
        self.judge = Judge(config, store, now)

    def participant(self, pid: str) -> dict[str, Any]:
        """One participant's steps, in sequence order, with older versions as history."""
        p = self.appt.participant(pid)
        mine = [r for r in self.rows if r.participant_id == pid]
        steps: list[dict[str, Any]] = []
        covered: set[int] = set()
        for step in self.config.sequence:
            for channel in step.channels:
                same = [r for r in mine if r.step == step.name and r.channel == channel]
                covered |= {r.id for r in same}
                current = next((r for r in same if r.revision == self.known.revision), None)
                history = [r for r in same if r is not current]
                steps.append(self.step(p, pid, step, channel, current, history))
        # Rows of steps the config no longer has (the sequence was edited since).
        for row in mine:
            if row.id not in covered:
                steps.append(self.step(p, pid, None, row.channel, row, [], name=row.step))
        zone = (
            zone_for(p, self.config.practice.timezone)
            if p
            else ZoneInfo(self.config.practice.timezone)
        )
        contacts: dict[str, Any] = {}
        if p:
            for channel in ("sms", "email"):
                address, why = recipient_for(self.config, p, channel)
                health = self.store.health(address) if address else None
                if address and health and health.opted_out:
                    why = health.reason or "opted out (replied STOP)"
                elif address and health and health.bad:
                    why = health.reason or "address cannot receive messages"
                contacts[channel] = {"to": mask(channel, address), "problem": why}
        return {
            "id": pid,
            "name": p.name if p else None,
            "removed": p is None,
            "timezone": zone.key,
            "contacts": contacts,
            "steps": steps,
        }

    def step(
        self,
        p: Participant | None,
        pid: str,
        step: Step | None,
        channel: str,
        row: SendRow | None,
        history: list[SendRow],
        name: str | None = None,
    ) -> dict[str, Any]:
        """One step x channel for one participant."""
        config, appt = self.config, self.appt
        zone = zone_for(p, config.practice.timezone) if p else ZoneInfo(config.practice.timezone)
        step_name = step.name if step else (name or "?")
        due: datetime | None = None
        if row is not None:
            due = parse_ts(row.due_at)
        elif step is not None and step.before is not None:
            due = appt.start - step.before
        entry: dict[str, Any] = {
            "step": step_name,
            "channel": channel,
            "revision": row.revision if row else self.known.revision,
            "due": iso(ts(due)) if due else None,
            "due_local": local_time(due, zone) if due else None,
            "state": row.state if row else "not planned",
            "to": None,
            "subject": None,
            "body": None,
            "segments": None,
            "encoding": None,
            "reason": "",
            "history": [
                {
                    "revision": h.revision,
                    "state": h.state,
                    "due": iso(h.due_at),
                    "reason": self._row_reason(h, zone),
                }
                for h in history
            ],
        }
        if p is None:
            entry["reason"] = "the client is no longer on this session" + (
                f"; {self._row_reason(row, zone)}" if row else ""
            )
            if row:
                entry["to"] = mask(channel, row.recipient)
            return entry
        attempted = row is not None and (
            row.state in ("sent", "delivered", "sending")
            or (row.state == "failed" and row.attempts)
        )
        if row is not None and attempted:
            # What actually went (or was attempted), exactly as recorded; the retention
            # purge may have removed text and address since.
            entry.update(
                to=mask(channel, row.recipient),
                subject=row.subject,
                body=row.body,
                segments=row.segments,
                encoding=row.encoding,
            )
            if row.body is None and row.state != "sending":
                entry["reason"] = (
                    f"{self._row_reason(row, zone)} (its text was removed "
                    "after the retention period)"
                )
                return entry
        else:
            # Render at the moment it goes (pending: its due time, the end of quiet
            # hours, its retry) or was due (the rest): {day} and {starts_in} depend on
            # it, and "starts in 18 h" would explain nothing.
            contact: ContactState | None = None
            verdict: Verdict | None = None
            later = Verdict("go")
            if row is not None and row.state == "pending":
                verdict, _reach, contact = self.judge.verdict(row, self.known)
                at, later = self.judge.when(row, self.known, contact)
                entry.update(goes=iso(ts(at)), goes_local=local_time(at, zone))
            else:
                at = due or (parse_ts(row.updated_at) if row else self.now)
                address, _why = recipient_for(config, p, channel)
                contact = self.judge.contact(address, channel) if address else None
            outcome = compose(config, appt, p, step_name, channel, at, contact)
            message = outcome.message
            entry["to"] = mask(channel, outcome.recipient)
            if message is not None:
                entry.update(subject=message.subject, body=message.body)
                if channel == "sms":
                    seg = count_segments(message.body)
                    entry.update(segments=seg.segments, encoding=seg.encoding)
            if row is not None and verdict is not None:
                entry["reason"] = self._pending_reason(row, verdict, later, at, due, zone)
                return entry
        if row is not None:
            entry["reason"] = self._row_reason(row, zone)
        else:
            _address, unreachable = recipient_for(config, p, channel)
            entry["reason"] = (
                f"not planned: {unreachable}"
                if unreachable and appt.is_live_telehealth
                else self._not_planned(step, channel, due, zone)
            )
        return entry

    def _row_reason(self, row: SendRow, zone: ZoneInfo) -> str:
        """Why a stored send is in its state."""
        state, reason = row.state, row.reason
        if state in ("sent", "delivered"):
            when = parse_ts(row.sent_at or row.updated_at)
            status = f", provider says {row.provider_status}" if row.provider_status else ""
            return f"sent {local_time(when, zone)}{status}"
        if state == "skipped":
            return reason or "its moment passed"
        if state == "canceled":
            if reason in ("rescheduled", "restored"):
                return f"the session was {reason}; the new version's sequence replaced it"
            if reason and reason.startswith("status "):
                return f"the session became {reason.removeprefix('status ').replace('_', ' ')}"
            return reason or "the session was canceled"
        if state == "failed":
            return reason or "provider error"
        if state == "sending":
            return (
                "being sent (if no dispatch is running, a run stopped mid-send; the next "
                "dispatch checks with the provider)"
            )
        return reason or state

    def _pending_reason(
        self,
        row: SendRow,
        now_verdict: Verdict,
        later: Verdict,
        at: datetime,
        due: datetime | None,
        zone: ZoneInfo,
    ) -> str:
        """Why a pending send will, or will not, go: the send verdict, in words."""
        now = self.now
        expires = parse_ts(row.expires_at)
        verdict = (
            now_verdict if now_verdict.action != "wait" or now_verdict.until is None else later
        )
        why = verdict.reason
        if verdict.action == "give_up":
            return f"will be given up at the next dispatch: {why}"
        if verdict.action == "skip":
            return f"will not go: {why}"
        if verdict.action == "cancel":
            return f"will be canceled: {why}"
        if verdict.action == "wait":
            if self.stale:
                since = f"since {local_time(self.good, zone)}" if self.good else "ever"
                return (
                    f"waits: stale snapshot (no successful sync {since}); link messages wait "
                    "until `linkcli sync` succeeds"
                )
            return (
                f"waits: {why}; fix it before {local_time(expires, zone)} or it is given up "
                "(and reported)"
            )
        if row.attempts and row.next_attempt_at and parse_ts(row.next_attempt_at) > now:
            return (
                f"will retry at {local_time(at, zone)} after {row.attempts} failed "
                f"attempt(s): {row.reason}"
            )
        if (
            now_verdict.action == "wait"
            and now_verdict.reason == "quiet hours"
            or (due is not None and at > max(due, now))
        ):
            return (
                f"held by quiet hours (no texts {self._quiet()} in the client's time "
                f"zone): goes at {local_time(at, zone)}"
            )
        if at <= now:
            return f"due now: goes at the next dispatch (until {local_time(expires, zone)})"
        return f"will go at {local_time(at, zone)}"

    def _quiet(self) -> str:
        quiet = self.config.sms.quiet_hours
        return f"{quiet.start:%H:%M}-{quiet.end:%H:%M}" if quiet else ""

    def _not_planned(
        self, step: Step | None, channel: str, due: datetime | None, zone: ZoneInfo
    ) -> str:
        """Why a step has no send row for the current version of the session."""
        appt = self.appt
        if not appt.is_live_telehealth:
            if appt.format != "telehealth":
                return (
                    "not planned: in-person session; linkcli sends nothing for in-person "
                    "sessions (the EHR's own reminders serve those)"
                )
            return f"not planned: the session is {appt.status.replace('_', ' ')}"
        if step is None:
            return "not planned"
        if step.on_created:
            if self.known.revision == 1 and self.adopted:
                return (
                    "not planned: adopted at the first sync (booked before linkcli was "
                    "installed), so no booking confirmation; its reminders still go"
                )
            return (
                "not planned: a booking confirmation goes only when the session (or this "
                "client on it) is new or moved, not for this version"
            )
        planned = parse_ts(self.planned_at) if self.planned_at else None
        window = ""
        if due is not None:
            window = f" (due {local_time(due, zone)})"
        if appt.start <= (planned or self.now):
            return f"not planned: the session had started before it was planned{window}"
        when = f" at {local_time(planned, zone)}" if planned else ""
        return (
            f"not planned: its window{window} had passed when this version of the session "
            f"was planned{when}; a later step on the {channel} channel took its place"
        )
