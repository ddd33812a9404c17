"""Pure core, table-driven: model parsing, diff, plan windows, templates, time words."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from linkcli.core.diff import classify, diff, vanish_refusal
from linkcli.core.durations import format_duration, parse_duration
from linkcli.core.messages import format_day, format_starts_in, format_time
from linkcli.core.model import RecordError, parse_appointment
from linkcli.core.plan import Step, plan_appointment
from linkcli.core.templates import BUILTIN, render, template_problems
from tests.conftest import appointment, client

DEFAULT = (
    Step("confirmation", ("email",), None),
    Step("reminder-24h", ("sms", "email"), timedelta(hours=24)),
    Step("final-30m", ("sms",), timedelta(minutes=30)),
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def appt(**kw):
    return parse_appointment(appointment(**kw))


# --- model ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": None}, "a record without an id: missing id"),
        (
            {"start": "2026-11-24T15:00:00"},
            "record 'apt-1001': start '2026-11-24T15:00:00' has no UTC offset",
        ),
        ({"status": "tentative"}, "record 'apt-1001': status 'tentative' is not one of"),
        ({"format": "phone"}, "record 'apt-1001': format 'phone' is not one of"),
        ({"therapist": {"name": "X"}}, "therapist must be an object with an id"),
        ({"participants": [{"name": "no id"}]}, "a participant has no id"),
        ({"end": "2026-11-24T14:00:00-05:00"}, "end is before start"),
    ],
)
def test_bad_records_name_the_record_and_field(change, message):
    with pytest.raises(RecordError) as caught:
        parse_appointment({**appointment(), **change})
    assert message in str(caught.value)


def test_optional_fields_may_be_missing():
    record = {
        "id": 7,
        "start": "2026-11-24T15:00:00Z",
        "therapist": {"id": "th-1"},
        "participants": [{"id": "cl-1"}],
    }
    parsed = parse_appointment(record)
    assert (parsed.id, parsed.status, parsed.format, parsed.telehealth_url) == (
        "7",
        "scheduled",
        "telehealth",
        None,
    )
    assert parsed.participants[0].shown_first_name == "there"


# --- diff ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "kind"),
    [
        ({"start": "2026-11-24T16:00:00-05:00"}, "rescheduled"),
        ({"status": "canceled"}, "canceled"),
        ({"status": "no_show"}, "canceled"),
        ({"link": "https://zoom.us/j/1"}, "updated"),
        ({"participants": [client(mobile="+1 617 555 0109")]}, "updated"),
        ({"therapist": {"id": "th-2", "name": "Ray"}}, "updated"),
        ({"updated_at": "2026-11-21T00:00:00Z"}, None),
    ],
)
def test_classify(after, kind):
    before = appt()
    change = classify(before, appt(**after))
    assert (change.kind if change else None) == kind


def test_restored_after_cancellation():
    change = classify(appt(status="canceled"), appt())
    assert change is not None and change.kind == "restored"


def test_vanish_only_inside_the_window_and_never_for_skipped_or_incomplete():
    snap = {
        a.id: a
        for a in (appt(id="in"), appt(id="out", start="2027-01-05T10:00:00-05:00"), appt(id="bad"))
    }
    start, end = utc("2026-11-19T00:00:00Z"), utc("2026-12-20T00:00:00Z")
    result = diff(snap, [], start, end, keep={"bad"})
    assert result.vanished == ("in",)
    assert diff(snap, [], start, end, complete=False).vanished == ()


@pytest.mark.parametrize(
    ("upcoming", "gone", "refused"),
    [(6, 5, True), (6, 3, False), (4, 4, True), (3, 3, False), (20, 10, False), (20, 11, True)],
)
def test_mass_vanish_guard(upcoming, gone, refused):
    assert (vanish_refusal(gone, upcoming, 0.5, 3) is not None) == refused


# --- plan -------------------------------------------------------------------------------


def windows(planned):
    return {(p.step, p.channel): (p.due_at.isoformat(), p.expires_at.isoformat()) for p in planned}


def test_plan_windows_are_half_open_and_end_at_the_next_same_channel_step():
    a = appt()  # starts 20:00Z
    got = windows(
        plan_appointment(
            a, 1, DEFAULT, utc("2026-11-20T12:00:00Z"), created_at=utc("2026-11-20T12:00:00Z")
        )
    )
    assert got == {
        ("confirmation", "email"): ("2026-11-20T12:00:00+00:00", "2026-11-23T20:00:00+00:00"),
        ("reminder-24h", "email"): ("2026-11-23T20:00:00+00:00", "2026-11-24T20:00:00+00:00"),
        ("reminder-24h", "sms"): ("2026-11-23T20:00:00+00:00", "2026-11-24T19:30:00+00:00"),
        ("final-30m", "sms"): ("2026-11-24T19:30:00+00:00", "2026-11-24T20:00:00+00:00"),
    }


def test_booked_two_hours_ahead_confirmation_replaces_the_24h_email():
    now = utc("2026-11-24T18:00:00Z")
    got = windows(plan_appointment(appt(), 1, DEFAULT, now, created_at=now))
    assert set(got) == {("confirmation", "email"), ("reminder-24h", "sms"), ("final-30m", "sms")}


def test_nothing_is_planned_for_past_cancelled_or_in_person_sessions():
    now = utc("2026-11-20T12:00:00Z")
    assert plan_appointment(appt(status="canceled"), 1, DEFAULT, now) == []
    assert plan_appointment(appt(format="in_person"), 1, DEFAULT, now) == []
    assert plan_appointment(appt(), 1, DEFAULT, utc("2026-11-24T20:00:00Z")) == []


def test_group_participants_each_get_keys_of_their_own():
    a = appt(participants=[client(), client(id="cl-2")])
    keys = {p.key for p in plan_appointment(a, 3, DEFAULT, utc("2026-11-20T12:00:00Z"))}
    assert "apt-1001/cl-2/final-30m/sms/r3" in keys and len(keys) == 6


# --- templates and time words -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{link}", None),
        ("{{literal}} {link}", None),
        ("{therapst}", "unknown placeholder {therapst}"),
        ("{link!r}", "takes no format spec"),
        ("{time:%H}", "takes no format spec"),
        ("{", "braces do not balance"),
        ("{}", "unknown placeholder {}"),
    ],
)
def test_template_problems(text, problem):
    found = template_problems(text)
    assert (found[0] if found else None) == problem or (problem and problem in found[0])


def test_render_keeps_literal_braces():
    assert render("{{x}} {link}", {"link": "L"}) == "{x} L"


LONG_ZOOM = "https://us02web.zoom.us/j/85512345678?pwd=aBcDeFgHiJkLmNoPqRsTuVwXyZ123456.1"


@pytest.mark.parametrize(
    ("therapist", "link", "ending"),
    [
        ("Dr. Chen", LONG_ZOOM, " Reply STOP to opt out."),
        ("Dr. Alexandra Chen", LONG_ZOOM, " STOP to end"),
        (
            "Dr. Alexandra Chen",
            "https://us02web.zoom.us/j/85512345678?pwd=AbCdEf123",
            " Reply STOP to opt out.",
        ),
    ],
)
def test_builtin_sms_with_opt_out_fit_one_gsm_segment(therapist, link, ending):
    from linkcli.compose import with_opt_out
    from linkcli.core.segments import count_segments

    values = {
        "therapist": therapist,
        "day": "tomorrow",
        "time": "12:45 PM",
        "starts_in": "30 min",
        "link": link,
    }
    for step, texts in BUILTIN.items():
        if texts.sms:
            body = with_opt_out(render(texts.sms, values), "Reply STOP to opt out.")
            info = count_segments(body)
            assert (step, info.encoding, info.segments) == (step, "GSM-7", 1)
            # Answers to replies are shorter (the full wording fits); they only ever go
            # to a number already texted, so never carry it anyway.
            assert body.endswith(ending) or step in ("final-30m", "link-reply", "no-session")
            assert "CANCEL" not in texts.sms.upper()


@pytest.mark.parametrize(
    ("start", "now", "word"),
    [
        ("2026-11-24T15:00:00", "2026-11-24T08:00:00", "today"),
        ("2026-11-24T00:15:00", "2026-11-23T23:50:00", "tomorrow"),
        ("2026-11-27T15:00:00", "2026-11-24T08:00:00", "Friday"),
        ("2026-12-03T15:00:00", "2026-11-24T08:00:00", "Dec 3"),
    ],
)
def test_day_word(start, now, word):
    assert format_day(datetime.fromisoformat(start), datetime.fromisoformat(now)) == word


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (1800, "30 min"),
        (1799.6, "30 min"),
        (600, "10 min"),
        (20, "1 min"),
        (3900, "1 h 5 min"),
        (7200, "2 h"),
    ],
)
def test_starts_in(seconds, text):
    start = utc("2026-11-24T20:00:00Z")
    assert format_starts_in(start, start - timedelta(seconds=seconds)) == text


def test_time_has_no_leading_zero():
    assert format_time(datetime(2026, 11, 24, 9, 5)) == "9:05 AM"


@pytest.mark.parametrize(
    ("text", "seconds"), [("30m", 1800), ("24h", 86400), ("2d", 172800), ("1h30m", 5400)]
)
def test_durations(text, seconds):
    assert parse_duration(text).total_seconds() == seconds
    assert parse_duration(format_duration(parse_duration(text))) == parse_duration(text)


@pytest.mark.parametrize("text", ["", "soon", "30", "h1", "1h 30x"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_digest_ignores_updated_at_only():
    a = appt()
    assert a.digest() == replace(a, updated_at=None).digest()
    assert a.digest() != replace(a, telehealth_url="https://zoom.us/j/2").digest()


def test_a_reschedule_confirmation_gives_way_to_an_open_reminder():
    now = utc("2026-11-24T14:00:00Z")  # moved to 22:00Z today: the 24 h windows are open
    moved = appt(start="2026-11-24T17:00:00-05:00")
    got = windows(plan_appointment(moved, 2, DEFAULT, now, created_at=now, created_yields=True))
    assert set(got) == {("reminder-24h", "email"), ("reminder-24h", "sms"), ("final-30m", "sms")}
    later = windows(
        plan_appointment(
            appt(start="2026-12-01T17:00:00-05:00"),
            2,
            DEFAULT,
            now,
            created_at=now,
            created_yields=True,
        )
    )
    assert ("confirmation", "email") in later  # moved a week out: the new time goes now


def test_unreachable_channels_are_not_planned():
    a = appt(participants=[client(), client(id="cl-2", mobile=None)])
    planned = plan_appointment(
        a,
        1,
        DEFAULT,
        utc("2026-11-20T12:00:00Z"),
        reachable=lambda p, channel: channel != "sms" or bool(p.mobile),
    )
    assert {(p.participant_id, p.channel) for p in planned} == {
        ("cl-1", "sms"),
        ("cl-1", "email"),
        ("cl-2", "email"),
    }
