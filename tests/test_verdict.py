"""The send verdict, as a table: one pure function decides what happens to a due send,
and `dispatch`, `preview` and `explain` all ask it; through the CLI, what `preview` says
is what `dispatch` sends. Synthetic people and numbers only."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from linkcli.core.model import Appointment, Participant, Therapist
from linkcli.core.verdict import (
    ContactState,
    QuietHours,
    Reach,
    SendFacts,
    parse_quiet_hours,
    send_verdict,
    settle,
)
from tests.conftest import ZOOM, appointment

NY = ZoneInfo("America/New_York")
START = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)  # Tue 3:00 PM EST
DUE = START - timedelta(hours=24)
EXPIRES = START - timedelta(minutes=30)
QUIET = QuietHours(time(21, 0), time(8, 0))
PERSON = Participant(id="cl-1", name="Alex Rivera", mobile="+16175550101")
SESSION = Appointment(
    id="apt-1",
    status="scheduled",
    start=START,
    therapist=Therapist(id="th-1", name="Maya Chen"),
    participants=(PERSON,),
    telehealth_url="https://us02web.zoom.us/j/85512345678",
)
SEND = SendFacts("reminder-24h", "sms", DUE, EXPIRES)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def verdict(now: datetime = DUE, send: SendFacts = SEND, **changes: object):
    values: dict[str, object] = {
        "appointment": SESSION,
        "current": True,
        "participant": PERSON,
        "reach": Reach("+16175550101"),
        "contact": ContactState(),
        "link_problem": None,
        "snapshot_age": timedelta(minutes=5),
        "max_snapshot_age": timedelta(hours=12),
        "quiet": None,
        "zone": NY,
        "now": now,
    }
    values.update(changes)
    return send_verdict(send, **values)  # type: ignore[arg-type]


LATE = EXPIRES + timedelta(minutes=1)

CASES = [
    # (name, now, send, changes, action, reason contains)
    ("due now goes", DUE, SEND, {}, "go", None),
    ("before its time waits until due", DUE - timedelta(hours=1), SEND, {}, "wait", "not due"),
    ("a newer revision cancels", DUE, SEND, {"current": False}, "cancel", "superseded"),
    ("a vanished session cancels", DUE, SEND, {"appointment": None}, "cancel", "superseded"),
    ("a removed client cancels", DUE, SEND, {"participant": None}, "cancel", "removed"),
    (
        "in person cancels",
        DUE,
        SEND,
        {"appointment": replace(SESSION, format="in_person")},
        "cancel",
        "in_person",
    ),
    (
        "a refused link waits",
        DUE,
        SEND,
        {"link_problem": "a personal meeting room"},
        "wait",
        "link refused: a personal meeting room",
    ),
    (
        "a refused link past its window is given up, naming the link",
        LATE,
        SEND,
        {"link_problem": "a personal meeting room"},
        "give_up",
        "link refused: a personal meeting room",
    ),
    (
        "a stale snapshot waits",
        DUE,
        SEND,
        {"snapshot_age": timedelta(hours=13)},
        "wait",
        "snapshot is too old",
    ),
    (
        "never synced waits",
        DUE,
        SEND,
        {"snapshot_age": None},
        "wait",
        "no successful sync ever",
    ),
    (
        "a stale snapshot past the window is given up",
        LATE,
        SEND,
        {"snapshot_age": timedelta(hours=13)},
        "give_up",
        "snapshot is too old",
    ),
    (
        "no run in time is given up",
        LATE,
        SEND,
        {},
        "give_up",
        "no run came in time",
    ),
    (
        "a link that waited and was fixed too late names the link",
        LATE,
        replace(SEND, waited_for="link refused: not https"),
        {},
        "give_up",
        "link refused: not https until its window passed",
    ),
    (
        "retries ran out",
        LATE,
        replace(SEND, attempts=2, last_error="Twilio error 20500"),
        {},
        "give_up",
        "after 2 failed attempt(s): Twilio error 20500",
    ),
    (
        "backing off waits until the retry",
        DUE + timedelta(minutes=1),
        replace(SEND, attempts=1, next_attempt_at=DUE + timedelta(minutes=2)),
        {},
        "wait",
        "retrying after 1 failed attempt(s)",
    ),
    (
        "no consent to texts is skipped quietly",
        DUE,
        SEND,
        {"reach": Reach(None, "client has not agreed to texts")},
        "skip",
        "not agreed",
    ),
    (
        "the client's choice is quiet even past the window",
        LATE,
        SEND,
        {"reach": Reach(None, "no mobile number: email only")},
        "skip",
        "email only",
    ),
    (
        "opted out and past the window while stale: still the client's choice",
        LATE,
        SEND,
        {
            "contact": ContactState(opted_out=True, reason="client replied STOP"),
            "snapshot_age": timedelta(days=2),
        },
        "skip",
        "replied STOP",
    ),
    (
        "a number that is not a number is given up",
        DUE,
        SEND,
        {"reach": Reach(None, "+1 555 is not a valid number", chosen=False)},
        "give_up",
        "not a valid number",
    ),
    (
        "opted out is skipped quietly",
        DUE,
        SEND,
        {"contact": ContactState(opted_out=True, reason="client replied STOP")},
        "skip",
        "replied STOP",
    ),
    (
        "a number the provider refused is email only, quietly",
        DUE,
        SEND,
        {"contact": ContactState(bad=True, reason="landline")},
        "skip",
        "landline",
    ),
    (
        "a cancellation email needs no link",
        DUE,
        replace(SEND, step="cancellation", channel="email"),
        {
            "appointment": replace(SESSION, status="canceled"),
            "link_problem": "no link",
        },
        "go",
        None,
    ),
    (
        "a cancellation email for a session restored is canceled",
        DUE,
        replace(SEND, step="cancellation", channel="email"),
        {},
        "cancel",
        "no longer canceled",
    ),
]


@pytest.mark.parametrize(
    ("now", "send", "changes", "action", "reason"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_send_verdict(now, send, changes, action, reason):
    result = verdict(now, send, **changes)
    assert result.action == action
    if reason is None:
        assert result.reason is None
    else:
        assert reason in (result.reason or "")
    assert result.loud == (action == "give_up")


QUIET_CASES = [
    # (name, channel, due (local), expires (local), now (local), action, until (local))
    (
        "a text due at 2 AM waits for 8 AM",
        "sms",
        "2026-11-24T02:03:00-05:00",
        "2026-11-24T15:30:00-05:00",
        "2026-11-24T02:03:00-05:00",
        "wait",
        "2026-11-24T08:00:00-05:00",
    ),
    (
        "at 8 AM sharp it goes (half-open)",
        "sms",
        "2026-11-24T02:03:00-05:00",
        "2026-11-24T15:30:00-05:00",
        "2026-11-24T08:00:00-05:00",
        "go",
        None,
    ),
    (
        "9 PM sharp is quiet, until the next morning",
        "sms",
        "2026-11-23T21:00:00-05:00",
        "2026-11-24T15:30:00-05:00",
        "2026-11-23T21:00:00-05:00",
        "wait",
        "2026-11-24T08:00:00-05:00",
    ),
    (
        "8:59 PM is not",
        "sms",
        "2026-11-23T20:59:00-05:00",
        "2026-11-24T15:30:00-05:00",
        "2026-11-23T20:59:00-05:00",
        "go",
        None,
    ),
    (
        "a 7:30 AM session's 7:00 AM text goes when due",
        "sms",
        "2026-11-24T07:00:00-05:00",
        "2026-11-24T07:30:00-05:00",
        "2026-11-24T07:00:00-05:00",
        "go",
        None,
    ),
    (
        "a window closing exactly at 8 AM goes when due",
        "sms",
        "2026-11-24T07:00:00-05:00",
        "2026-11-24T08:00:00-05:00",
        "2026-11-24T07:00:00-05:00",
        "go",
        None,
    ),
    (
        "emails are never held",
        "email",
        "2026-11-24T02:03:00-05:00",
        "2026-11-24T15:00:00-05:00",
        "2026-11-24T02:03:00-05:00",
        "go",
        None,
    ),
    (
        "DST ends: 1:30 AM the second time still waits for 8 AM EST",
        "sms",
        "2026-11-01T01:30:00-05:00",
        "2026-11-01T09:30:00-05:00",
        "2026-11-01T01:30:00-05:00",
        "wait",
        "2026-11-01T08:00:00-05:00",
    ),
    (
        "DST starts: 1:30 AM EST waits for 8 AM EDT",
        "sms",
        "2026-03-08T01:30:00-05:00",
        "2026-03-08T09:30:00-04:00",
        "2026-03-08T01:30:00-05:00",
        "wait",
        "2026-03-08T08:00:00-04:00",
    ),
]


@pytest.mark.parametrize(
    ("channel", "due", "expires", "now", "action", "until"),
    [case[1:] for case in QUIET_CASES],
    ids=[case[0] for case in QUIET_CASES],
)
def test_quiet_hours(channel, due, expires, now, action, until):
    send = SendFacts("reminder-24h", channel, at(due), at(expires))
    result = verdict(at(now), send, quiet=QUIET)
    assert result.action == action
    assert result.until == (at(until) if until else None)


def test_quiet_hours_are_the_clients_own():
    # 7 AM in Los Angeles is 10 AM in New York: the client's zone decides.
    send = SendFacts("final-30m", "sms", at("2026-11-24T10:00:00-05:00"), START)
    held = verdict(send.due_at, send, quiet=QUIET, zone=ZoneInfo("America/Los_Angeles"))
    assert (held.action, held.until) == ("wait", at("2026-11-24T08:00:00-08:00"))
    assert verdict(send.due_at, send, quiet=QUIET).action == "go"


def test_quiet_hours_that_do_not_cross_midnight():
    lunch = QuietHours(time(12, 0), time(13, 0))
    assert lunch.ends_after(at("2026-11-24T12:30:00-05:00"), NY) == at("2026-11-24T13:00:00-05:00")
    assert lunch.ends_after(at("2026-11-24T13:00:00-05:00"), NY) is None
    assert lunch.ends_after(at("2026-11-24T11:59:00-05:00"), NY) is None


def test_settle_follows_each_wait_to_the_moment_it_goes():
    send = SendFacts(
        "reminder-24h", "sms", at("2026-11-24T02:03:00-05:00"), at("2026-11-24T15:30:00-05:00")
    )
    start = at("2026-11-23T12:00:00-05:00")  # previewed the day before
    moment, final = settle(lambda t: verdict(t, send, quiet=QUIET), start)
    assert (moment, final.action) == (at("2026-11-24T08:00:00-05:00"), "go")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("21:00-08:00", QuietHours(time(21, 0), time(8, 0))),
        (" 9:30 - 7:05 ", QuietHours(time(9, 30), time(7, 5))),
        ("", None),
        ("   ", None),
    ],
)
def test_parse_quiet_hours(text, expected):
    assert parse_quiet_hours(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("21-08", "HH:MM-HH:MM"),
        ("25:00-08:00", "00:00 to 23:59"),
        ("21:00-21:00", "empty span"),
        ("9pm-8am", "HH:MM-HH:MM"),
    ],
)
def test_parse_quiet_hours_refuses(text, problem):
    with pytest.raises(ValueError, match=problem):
        parse_quiet_hours(text)


# --- preview and dispatch ask the same verdict: what preview says is what goes --------

AGREE = [
    # (name, session start, synced at, link)
    ("a plain 24 h text", "2026-11-24T15:00:00-05:00", "2026-11-23T18:00:00Z", None),
    ("a text held by quiet hours", "2026-11-24T07:30:00-05:00", "2026-11-23T06:00:00Z", None),
    (
        "a refused link",
        "2026-11-24T15:00:00-05:00",
        "2026-11-23T18:00:00Z",
        "https://us02web.zoom.us/my/drchen",
    ),
]


@pytest.mark.parametrize(
    ("start", "synced", "link"), [a[1:] for a in AGREE], ids=[a[0] for a in AGREE]
)
def test_preview_says_when_and_what_dispatch_sends(practice, start, synced, link):
    practice.schedule(appointment(start=start, link=link or ZOOM))
    practice.ok(synced, "sync")
    [item] = [
        i
        for i in json.loads(practice.ok(synced, "preview", "--json").stdout)
        if (i["step"], i["channel"]) == ("reminder-24h", "sms")
    ]
    due = datetime.fromisoformat(item["due"])
    before = (due - timedelta(minutes=1)).isoformat()
    practice.cli(before, "dispatch")
    assert practice.sms() == []
    practice.cli(due.isoformat(), "dispatch")
    if item["action"] == "send":
        [sms] = practice.sms()
        assert sms["body"] == item["body"]  # exactly as previewed
    else:
        assert item["action"] == "wait" and practice.sms() == []
