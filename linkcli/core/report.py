"""The week in figures (`linkcli report`): pure arithmetic over plain rows.

The store hands over one row per message of the period and the reply counts; this
module turns them into the figures DESIGN.md names ("Report"), per therapist and in
total, with stable keys. No I/O: the command reads, output renders.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from linkcli.core.model import Therapist
from linkcli.core.reconcile import CANCELLATION

ON_TIME = timedelta(minutes=2)  # a link text "on time" went within this of its due time
# The field guide's figure: a "where is the link?" message costs a therapist ~4 minutes.
MINUTES_PER_LINK_REQUEST = 4
WENT = ("sent", "delivered")  # states of a message that left linkcli and was not refused
CHANNELS = ("sms", "email")
UNKNOWN = "?"  # the therapist of a session no longer in the snapshot (past retention)


class ReportMessage(NamedTuple):
    """One message of the period: a participant x a step x a channel, as the store has it."""

    appointment_id: str
    therapist_id: str | None
    therapist_name: str | None
    therapist_display_name: str | None
    step: str
    channel: str
    state: str
    reason: str | None
    due_at: datetime
    sent_at: datetime | None
    write_back: str | None  # the FHIR write-back's state, None when none exists


class ReplyCount(NamedTuple):
    """Replies received in the period for one therapist's sessions (None: no session)."""

    therapist_id: str | None
    received: int
    link_answered: int


def delivery_rate(delivered: int, sent: int, failed: int) -> float | None:
    """Of what left linkcli, the share the provider confirmed delivered. Only texts get
    receipts (from Twilio); with none confirmed (email, the outbox) the rate is unknown
    (None), not 0. `status` and `report` both read it here."""
    out = sent + delivered + failed
    return round(delivered / out, 3) if out and delivered else None


def build_report(
    messages: Iterable[ReportMessage],
    replies: Iterable[ReplyCount],
    since: datetime,
    until: datetime,
    zone: ZoneInfo,
) -> dict[str, Any]:
    """Every figure of the period [since, until), in total and per therapist (by id)."""
    rows = list(messages)
    reply_rows = list(replies)
    figures = _figures(rows, reply_rows)
    therapists: dict[str, dict[str, Any]] = {}
    ids = {r.therapist_id or UNKNOWN for r in rows} | {
        r.therapist_id for r in reply_rows if r.therapist_id
    }
    for tid in sorted(ids):
        own = [r for r in rows if (r.therapist_id or UNKNOWN) == tid]
        named = next((r for r in own if r.therapist_name), None)
        name = (
            Therapist(tid, named.therapist_name or tid, named.therapist_display_name).shown
            if named
            else tid
        )
        name = printable(name)
        therapists[tid] = {
            "name": name,
            **_figures(own, [r for r in reply_rows if r.therapist_id == tid]),
        }
    return {
        "period": {
            "from": since.isoformat(),
            "to": until.isoformat(),
            "days": round((until - since) / timedelta(days=1), 3),
            "timezone": zone.key,
        },
        **figures,
        "minutes_per_link_request": MINUTES_PER_LINK_REQUEST,
        "per_day": _per_day(rows, since, until, zone),
        "therapists": therapists,
    }


def _figures(rows: list[ReportMessage], replies: list[ReplyCount]) -> dict[str, Any]:
    messages: dict[str, dict[str, dict[str, int]]] = {}
    for r in rows:
        by_state = messages.setdefault(r.step, {}).setdefault(r.channel, {})
        by_state[r.state] = by_state.get(r.state, 0) + 1
    texts = [
        r for r in rows if r.channel == "sms" and r.step != CANCELLATION and r.sent_at is not None
    ]
    on_time = sum(1 for r in texts if r.sent_at is not None and r.sent_at - r.due_at <= ON_TIME)
    rates: dict[str, float | None] = {}
    for channel in CHANNELS:
        states = Counter(r.state for r in rows if r.channel == channel)
        rates[channel] = delivery_rate(states["delivered"], states["sent"], states["failed"])
    failed = [r for r in rows if r.state == "failed"]
    answered = sum(r.link_answered for r in replies)
    return {
        "sessions": len({r.appointment_id for r in rows if r.state in WENT}),
        "messages": messages,
        "messages_total": len(rows),
        "on_time": round(on_time / len(texts), 3) if texts else None,
        "link_texts": {"sent": len(texts), "on_time": on_time},
        "delivery_rate": rates,
        "replies": sum(r.received for r in replies),
        "link_requests_answered": answered,
        "minutes_saved": answered * MINUTES_PER_LINK_REQUEST,
        "given_up": len(failed),
        "given_up_reasons": dict(
            sorted(Counter(_reason(r.reason) for r in failed).items(), key=lambda kv: -kv[1])
        ),
        "write_back": {
            "written": sum(1 for r in rows if r.write_back == "written"),
            "pending": sum(1 for r in rows if r.write_back not in (None, "written")),
        },
    }


def _reason(reason: str | None) -> str:
    """A give-up reason as grouped in the report: one line, printable, without the
    "gave up:" prefix dispatch adds (every message listed here was given up)."""
    return printable((reason or "no reason recorded").removeprefix("gave up: "))


def printable(text: str) -> str:
    """Schedule text made safe to show: one line, no control or escape characters (a
    therapist named with a terminal escape must not reach cron mail as one)."""
    return "".join(ch if ch.isprintable() else "?" for ch in " ".join(text.split()))


def _per_day(
    rows: list[ReportMessage], since: datetime, until: datetime, zone: ZoneInfo
) -> list[dict[str, Any]]:
    """Messages that went out per day (the practice's days), by channel; every day of
    the period is listed, quiet ones with zeros, so a chart has no gaps."""
    first, last = since.astimezone(zone).date(), (until - timedelta(seconds=1)).astimezone(zone)
    days: dict[date, dict[str, int]] = {}
    day = first
    while day <= last.date():
        days[day] = dict.fromkeys(CHANNELS, 0)
        day += timedelta(days=1)
    for r in rows:
        if r.sent_at is None or not since <= r.sent_at < until:
            continue
        counts = days.get(r.sent_at.astimezone(zone).date())
        if counts is not None and r.channel in counts:
            counts[r.channel] += 1
    return [{"day": d.isoformat(), **counts} for d, counts in days.items()]
