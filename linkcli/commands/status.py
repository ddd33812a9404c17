"""`linkcli status`: what was sent, what is due next, what failed, what needs a human."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from linkcli.compose import effective_link, recipient_for, therapist_shown
from linkcli.config import Config
from linkcli.context import Context
from linkcli.core.messages import zone_problem
from linkcli.core.phones import email_problem, normalize_mobile
from linkcli.core.replies import needs_human, shown_reply
from linkcli.core.report import delivery_rate
from linkcli.core.when import people_iso, people_time
from linkcli.errors import ExitCode
from linkcli.shared import (
    contacts_place,
    iso,
    local_time,
    mask,
    record_fix,
    test_mode,
)
from linkcli.store import STATES, Store, parse_ts, ts
from linkcli.writeback import ATTENTION_AFTER

UPCOMING_LIMIT = 20
SYNC_COUNTS = (
    "created",
    "rescheduled",
    "canceled",
    "updated",
    "restored",
    "unchanged",
    "problems",
    "listed",
)


def attention_item(
    kind: str, appointment: str | None, reason: str, fix: str, participant: str | None = None
) -> dict[str, Any]:
    """One thing a human must look at."""
    return {
        "kind": kind,
        "appointment": appointment,
        "appointment_id": appointment,
        "participant": participant,
        "participant_id": participant,
        "reason": reason,
        "fix": fix,
    }


def attention(config: Config, store: Store, now: datetime) -> list[dict[str, Any]]:
    """Every item a human must look at, most urgent kinds first."""
    items: list[dict[str, Any]] = []
    good = store.last_good_sync()
    last = store.last_sync()
    if last and not last.ok:
        items.append(
            attention_item(
                "sync_failed",
                None,
                f"the last sync failed: {last.error}",
                "fix what it says, then run `linkcli sync` (`--force` if a mass cancellation is "
                "real); messages go meanwhile from the last good snapshot",
            )
        )
    if good is None or now - good > config.max_snapshot_age:
        zone = ZoneInfo(config.practice.timezone)
        since = f"since {people_time(good, zone, now)}" if good else "ever"
        waiting: list[str | None] = [*store.waiting_appointments(now)]
        for appointment_id in waiting or [None]:
            items.append(
                attention_item(
                    "stale_snapshot",
                    appointment_id,
                    f"no successful sync {since}; link messages wait until one succeeds",
                    "run `linkcli sync` and fix what it reports (source URL, token, file)",
                )
            )
    if last and last.ok:
        for problem in json.loads(last.problems or "[]"):
            items.append(
                attention_item(
                    "bad_record",
                    _record_id(problem),
                    problem,
                    record_fix(config, problem),
                )
            )
    horizon = now + config.sync.future
    place = contacts_place(config)
    # An appointment a sync reported as a bad record has that one row: no second,
    # contradictory row about its missing client or contact.
    reported = {item["appointment"] for item in items if item["kind"] == "bad_record"}
    for known in store.appointments_between(now, horizon):
        appt = known.appointment
        if not appt.is_live_telehealth:
            continue
        problem = config.links.check(effective_link(config, appt))
        if problem:
            items.append(
                attention_item(
                    "link",
                    appt.id,
                    f"link refused: {problem}; its link messages wait",
                    "put the session-specific https link on the appointment, or set "
                    f'[therapists."{appt.therapist.id}"] link in the config',
                )
            )
        if not appt.participants and appt.id not in reported:
            items.append(
                attention_item(
                    "no_participants",
                    appt.id,
                    "session has no client",
                    "add the client to the appointment",
                )
            )
        for p in appt.participants:
            phone = normalize_mobile(p.mobile, config.practice.country)
            if phone.problem:
                items.append(
                    attention_item(
                        "bad_mobile",
                        appt.id,
                        f"{phone.problem}; email only",
                        f"correct the client's mobile number in {place}",
                        p.id,
                    )
                )
            bad_email = p.email and email_problem(p.email)
            if bad_email and p.email_opt_in is not False:
                items.append(
                    attention_item(
                        "bad_email",
                        appt.id,
                        f"{bad_email}; no email can go",
                        "correct the client's email address in the scheduling system",
                        p.id,
                    )
                )
            zone_why = zone_problem(p)
            if zone_why:
                items.append(
                    attention_item(
                        "bad_timezone",
                        appt.id,
                        zone_why,
                        "correct the client's time zone in the scheduling system (an IANA "
                        "name such as America/Chicago)",
                        p.id,
                    )
                )
            sms, _ = recipient_for(config, p, "sms")
            email, _ = recipient_for(config, p, "email")
            # A client's own choice (email only, no texts, opted out) is honoured, not a
            # problem: it is shown by `explain`, never listed here.
            if not sms and not email and appt.id not in reported and _unchosen(p):
                items.append(
                    attention_item(
                        "no_contact",
                        appt.id,
                        "no usable mobile or email: nothing can be sent",
                        f"add the client's mobile or email in {place}",
                        p.id,
                    )
                )
            if sms:
                health = store.health(sms)
                if health and health.bad and not health.opted_out:
                    items.append(
                        attention_item(
                            "bad_mobile",
                            appt.id,
                            f"{health.reason}; email only",
                            f"correct the client's mobile number in {place}",
                            p.id,
                        )
                    )
    notices = store.notices()
    noticed = store.load({n.appointment_id for n in notices if n.appointment_id})
    for notice in notices:
        # An item about a session (a same-day move, a refused link) is listed until that
        # session has passed; then it drops out of `attention` and of `status --check`.
        session = noticed.get(notice.appointment_id or "")
        if notice.appointment_id and (session is None or _ended(session.appointment) <= now):
            continue
        items.append(
            attention_item(
                notice.kind,
                notice.appointment_id,
                notice.reason,
                notice.fix,
                notice.participant_id,
            )
        )
    for record in store.failing_write_backs(ATTENTION_AFTER):
        # The message went; only its record on the EHR is missing (retried every run).
        items.append(
            attention_item(
                "write_back",
                record.appointment_id,
                f"{record.step} {record.channel} went, but its record could not be written "
                f"to the EHR after {record.attempts} tries: {record.error}",
                "check the FHIR server and its token (source.token_env); linkcli keeps "
                "retrying at least hourly",
                record.participant_id,
            )
        )
    items += _unanswered_replies(store, now)
    failed = store.failed_since(now - timedelta(days=7))
    sessions = store.load({row.appointment_id for row in failed})
    for row in failed:
        # A message that failed or was given up is listed until its session has passed.
        session = sessions.get(row.appointment_id)
        if session is None or _ended(session.appointment) <= now:
            continue
        items.append(
            attention_item(
                "failed_send",
                row.appointment_id,
                f"{row.step} {row.channel} failed: {row.reason}",
                "check the contact details; run `linkcli status` after the next dispatch",
                row.participant_id,
            )
        )
    return items


def _unchosen(participant: Any) -> bool:
    """False when the client chose to get nothing (opted out of both channels): that
    choice is honoured quietly, not a missing contact."""
    return not (participant.sms_opt_in is False and participant.email_opt_in is False)


REPLY_LISTED = timedelta(hours=24)  # an unanswered reply about no session is listed this long


def _unanswered_replies(store: Store, now: datetime) -> list[dict[str, Any]]:
    """Replies no automatic answer covered: a person reads each ("Running 5 min late"
    must reach the therapist). Listed until the session it is about has passed, or for
    a day when it is about none."""
    rows = [r for r in store.replies_since(now - timedelta(days=7), limit=500)]
    sessions = store.load({r.appointment_id for r in rows if r.appointment_id})
    items = []
    for row in reversed(rows):
        why = needs_human(row.kind, bool(row.answered), row.reason, row.answer_state)
        if why is None:
            continue
        session = sessions.get(row.appointment_id or "")
        if session is not None:
            until = _ended(session.appointment)
        else:
            until = parse_ts(row.received_at) + REPLY_LISTED
        if until <= now:
            continue
        items.append(
            attention_item(
                "reply",
                row.appointment_id,
                f'client {mask("sms", row.number)} texted "{shown_reply(row.body)}": {why}',
                "read it and answer the client yourself (call or text from the practice)",
                row.participant_id,
            )
        )
    return items


def replies_shown(config: Config, store: Store, now: datetime) -> list[dict[str, Any]]:
    """The replies of the last 7 days for `status` (newest first), numbers masked."""
    zone = ZoneInfo(config.practice.timezone)
    return [
        {
            "time": iso(row.received_at),
            "time_local": local_time(parse_ts(row.received_at), zone),
            "number": mask("sms", row.number),
            "appointment": row.appointment_id,
            "answered": bool(row.answered),
            "kind": row.kind,
            "text": shown_reply(row.body),
        }
        for row in store.replies_since(now - timedelta(days=7))
    ]


def _ended(appointment: Any) -> datetime:
    """When a session is over: its end, else an hour after its start."""
    return appointment.end or appointment.start + timedelta(hours=1)


def _record_id(problem: str) -> str | None:
    for marker in ("record '", "appointment '"):
        if marker in problem:
            return problem.split(marker, 1)[1].split("'", 1)[0]
    return None


def build_status(ctx: Context, store: Store) -> dict[str, Any]:
    """The status report as one JSON-ready object."""
    config, now = ctx.config, ctx.now
    last = store.last_sync()
    good = store.last_good_sync()
    last_sync: dict[str, Any] = {
        "time": iso(last.finished_at) if last else None,
        "ok": bool(last.ok) if last else None,
        # Every key always, zeros included: a monitor reads the same shape every time.
        "counts": {
            **dict.fromkeys(SYNC_COUNTS, 0),
            **(json.loads(last.counts) if last and last.counts else {}),
        },
        "error": last.error if last else None,
        "last_good": iso(ts(good)) if good else None,
    }
    pending = store.pending_sends(UPCOMING_LIMIT)
    sessions = store.load({row.appointment_id for row in pending})
    upcoming = [
        {
            # A text held by quiet hours goes when they end (dispatch notes the moment).
            "due": iso(max(row.due_at, row.next_attempt_at or "", ts(now))),
            "step": row.step,
            "channel": row.channel,
            "appointment": row.appointment_id,
            "participant": row.participant_id,
            **_people(config, sessions.get(row.appointment_id), row.participant_id),
            "waiting": row.reason,
        }
        for row in pending
    ]
    recent = [
        {
            "time": iso(row.updated_at),
            "state": row.state,
            "step": row.step,
            "channel": row.channel,
            "appointment": row.appointment_id,
            "participant": row.participant_id,
            "recipient": mask(row.channel, row.recipient),
            "reason": row.reason,
        }
        for row in store.settled_since(now - timedelta(days=7))
    ]
    done = [state for state in STATES if state != "pending"]
    last_7_days: dict[str, dict[str, Any]] = {
        channel: dict.fromkeys(done, 0) for channel in ("sms", "email")
    }
    for count in store.by_channel_since(now - timedelta(days=7)):
        last_7_days.setdefault(count.group or "?", dict.fromkeys(done, 0))[count.state] = count.n
    for states in last_7_days.values():
        states["delivery_rate"] = delivery_rate(
            states.get("delivered", 0), states.get("sent", 0), states.get("failed", 0)
        )
    therapists: dict[str, dict[str, int]] = {}
    for count in store.by_therapist_since(now - timedelta(days=7)):
        states = therapists.setdefault(count.group or "?", dict.fromkeys(done, 0))
        states[count.state] = count.n
    # The name each therapist is known by, for the per-therapist table (ids are the keys).
    names = {
        k.appointment.therapist.id: therapist_shown(config, k.appointment)
        for k in store.appointments_between(now - timedelta(days=7), now + config.sync.future)
    }
    return {
        "now": iso(ts(now)),
        "therapist_names": {tid: names.get(tid, tid) for tid in therapists},
        "practice": config.practice.name,
        "timezone": config.practice.timezone,
        "test_mode": test_mode(config),
        "last_sync": last_sync,
        "sends": store.counts_by_state(),
        "upcoming": upcoming,
        "recent": recent,
        "last_7_days": last_7_days,
        "therapists": therapists,
        "attention": attention(config, store, now),
        "replies": replies_shown(config, store, now),
    }


def _people(config: Config, known: Any, participant_id: str) -> dict[str, str | None]:
    """Who a send is for, as a person reads it: `Alex R.` and `Dr. Chen`."""
    if known is None:
        return {"client": None, "therapist": None}
    appt = known.appointment
    person = appt.participant(participant_id)
    return {
        "client": person.short_name if person else None,
        "therapist": therapist_shown(config, appt),
    }


def check_problems(ctx: Context, store: Store, report: dict[str, Any]) -> list[str]:
    """What `status --check` reports as a problem (each kind can be switched off)."""
    config, now = ctx.config, ctx.now
    problems: list[str] = []
    good = store.last_good_sync()
    if config.status.check_stale_sync and (good is None or now - good > 2 * config.sync.interval):
        zone = ZoneInfo(config.practice.timezone)
        since = f"since {people_iso(ts(good), zone, now)}" if good else "yet"
        problems.append(f"no successful sync {since}")
    if config.status.check_failed_sends:
        failed = store.failed_count_since(now - timedelta(hours=1))
        if failed:
            problems.append(f"{failed} send(s) failed in the last hour")
    if config.status.check_attention and report["attention"]:
        first = report["attention"][0]
        about = f"{first['appointment']}: " if first["appointment"] else ""
        more = len(report["attention"]) - 1
        problems.append(
            f"{len(report['attention'])} item(s) need attention, first {about}{first['reason']}"
            + (f" (and {more} more; see `linkcli status`)" if more else "")
        )
    return problems


@dataclass
class StatusResult:
    """`status`: the report, and with `--check` what makes it exit 1."""

    report: dict[str, Any]
    problems: list[str]

    @property
    def exit_code(self) -> ExitCode:
        """1 when `--check` found something a human must look at, else 0."""
        return ExitCode.SENDS_FAILED if self.problems else ExitCode.OK


def run_status(ctx: Context, store: Store, check: bool = False) -> StatusResult:
    """The status report, and the `--check` problems when asked."""
    report = build_status(ctx, store)
    return StatusResult(report, check_problems(ctx, store, report) if check else [])
