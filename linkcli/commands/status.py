"""`linkcli status`: what was sent, what is due next, what failed, what needs a human."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from linkcli.compose import effective_link, recipient_for
from linkcli.config import Config
from linkcli.context import Context
from linkcli.core.messages import zone_problem
from linkcli.core.phones import email_problem, normalize_mobile
from linkcli.errors import ExitCode
from linkcli.shared import iso, mask
from linkcli.store import STATES, Store, ts

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
        since = f"since {ts(good)}" if good else "ever"
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
                    "correct the appointment in the scheduling system (or the contacts "
                    "directory); linkcli sends nothing for what it cannot read",
                )
            )
    horizon = now + config.sync.future
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
        if not appt.participants:
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
                        "correct the client's mobile number in the scheduling system",
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
            zone = zone_problem(p)
            if zone:
                items.append(
                    attention_item(
                        "bad_timezone",
                        appt.id,
                        zone,
                        "correct the client's time zone in the scheduling system (an IANA "
                        "name such as America/Chicago)",
                        p.id,
                    )
                )
            sms, _ = recipient_for(config, p, "sms")
            email, _ = recipient_for(config, p, "email")
            if p.sms_opt_in is False and p.mobile:
                items.append(
                    attention_item(
                        "opted_out",
                        appt.id,
                        "client has not agreed to texts (sms_opt_in is "
                        "false in the schedule); email only",
                        "record the client's consent in the scheduling system to send texts",
                        p.id,
                    )
                )
            if not sms and not email:
                items.append(
                    attention_item(
                        "no_contact",
                        appt.id,
                        "no usable mobile or email: nothing can be sent",
                        "add the client's mobile or email in the scheduling system",
                        p.id,
                    )
                )
            if sms:
                health = store.health(sms)
                if health and health.opted_out:
                    items.append(
                        attention_item(
                            "opted_out",
                            appt.id,
                            "client opted out of texts; email only",
                            "the client can reply START to resume texts",
                            p.id,
                        )
                    )
                elif health and health.bad:
                    items.append(
                        attention_item(
                            "bad_mobile",
                            appt.id,
                            f"{health.reason}; email only",
                            "correct the client's mobile number",
                            p.id,
                        )
                    )
    for notice in store.notices():
        items.append(
            attention_item(
                notice.kind,
                notice.appointment_id,
                notice.reason,
                notice.fix,
                notice.participant_id,
            )
        )
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
    upcoming = [
        {
            # A text held by quiet hours goes when they end (dispatch notes the moment).
            "due": iso(max(row.due_at, row.next_attempt_at or "", ts(now))),
            "step": row.step,
            "channel": row.channel,
            "appointment": row.appointment_id,
            "participant": row.participant_id,
            "waiting": row.reason,
        }
        for row in store.pending_sends(UPCOMING_LIMIT)
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
        out = states.get("sent", 0) + states.get("delivered", 0) + states.get("failed", 0)
        # Of what left linkcli, the share the provider confirmed delivered (SMS only
        # learns this from Twilio; email has no receipts, so its rate stays None).
        states["delivery_rate"] = (
            round(states.get("delivered", 0) / out, 3)
            if (out and states.get("delivered"))
            else None
        )
    therapists: dict[str, dict[str, int]] = {}
    for count in store.by_therapist_since(now - timedelta(days=7)):
        states = therapists.setdefault(count.group or "?", dict.fromkeys(done, 0))
        states[count.state] = count.n
    return {
        "now": iso(ts(now)),
        "practice": config.practice.name,
        "last_sync": last_sync,
        "sends": store.counts_by_state(),
        "upcoming": upcoming,
        "recent": recent,
        "last_7_days": last_7_days,
        "therapists": therapists,
        "attention": attention(config, store, now),
    }


def check_problems(ctx: Context, store: Store, report: dict[str, Any]) -> list[str]:
    """What `status --check` reports as a problem (each kind can be switched off)."""
    config, now = ctx.config, ctx.now
    problems: list[str] = []
    good = store.last_good_sync()
    if config.status.check_stale_sync and (good is None or now - good > 2 * config.sync.interval):
        problems.append("no successful sync " + (f"since {ts(good)}" if good else "yet"))
    if config.status.check_failed_sends:
        failed = store.failed_count_since(now - timedelta(hours=1))
        if failed:
            problems.append(f"{failed} send(s) failed in the last hour")
    if config.status.check_attention and report["attention"]:
        problems.append(f"{len(report['attention'])} item(s) need attention")
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
