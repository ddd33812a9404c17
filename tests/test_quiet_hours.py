"""Quiet hours through the CLI (DESIGN.md "Quiet hours"): no text inside `[sms]
quiet_hours` of the client's day; a text due then waits for their end unless its window
closes first; emails are never held; `preview` and `explain` show the real time."""

from __future__ import annotations

import json

from tests.conftest import ZOOM, Practice, appointment, client


def test_a_first_sync_at_2am_holds_the_24h_text_until_8am(practice: Practice):
    practice.schedule(appointment(start="2026-11-24T16:00:00-05:00"))
    night = "2026-11-24T07:03:00Z"  # 02:03 in New York, the session at 4 PM
    first = practice.ok(night, "run")
    assert first.stderr == ""  # held, not failed: cron mail stays empty
    assert practice.sms() == []
    # Emails are not held: the 24 h email goes at once.
    [email] = practice.emails()
    assert email["subject"] == "Reminder: your session with Dr. Chen today at 4:00 PM"

    [held] = [p for p in practice.preview(night) if p["channel"] == "sms" and "24h" in p["step"]]
    assert held["due"] == "2026-11-24T13:00:00+00:00"
    assert held["action"] == "send"
    assert held["body"].startswith("Reminder: Dr. Chen session today at 4:00 PM.")

    explained = json.loads(practice.ok(night, "explain", "apt-1001", "--json").stdout)
    [step] = [
        s
        for s in explained["participants"][0]["steps"]
        if (s["step"], s["channel"]) == ("reminder-24h", "sms")
    ]
    assert step["goes_local"] == "Tue Nov 24, 8:00 AM EST"
    assert step["reason"] == (
        "held by quiet hours (no texts 21:00-08:00 in the client's time zone): goes at "
        "Tue Nov 24, 8:00 AM EST"
    )
    screen = practice.ok(night, "explain", "apt-1001").stdout
    assert "goes at Tue Nov 24, 8:00 AM EST" in screen

    practice.ok("2026-11-24T12:59:00Z", "run")
    assert practice.sms() == []
    practice.ok("2026-11-24T13:00:00Z", "run")
    [sms] = practice.sms()
    assert sms["body"] == (
        f"Reminder: Dr. Chen session today at 4:00 PM. Join here: {ZOOM} Reply STOP to opt out."
    )


def test_a_730am_session_still_gets_its_7am_text(practice: Practice):
    practice.schedule(appointment(start="2026-11-24T07:30:00-05:00"))
    practice.ok("2026-11-22T15:00:00Z", "sync")
    # The 24 h text is due at 7:30 AM the day before, inside quiet hours; its window
    # runs to the next morning, so it waits for 8 AM.
    practice.ok("2026-11-23T12:30:00Z", "run")
    assert practice.sms() == []
    practice.ok("2026-11-23T13:00:00Z", "run")
    assert [s["key"] for s in practice.sms()] == ["apt-1001/cl-1/reminder-24h/sms/r1"]
    # The 7:00 AM text: its window closes at 7:30, before quiet hours end: it goes.
    practice.ok("2026-11-24T12:00:00Z", "run")
    assert practice.sms()[-1]["body"].startswith(
        "Your session with Dr. Chen starts in 30 min. Join now:"
    )


def test_the_night_dst_ends_quiet_hours_end_at_8am_standard_time(practice: Practice):
    # DST ends 2026-11-01 at 2 AM: 8 AM EST is 13:00Z (8 AM EDT would have been 12:00Z).
    practice.schedule(appointment(start="2026-11-01T10:00:00-05:00"))
    practice.ok("2026-10-30T12:00:00Z", "sync")
    practice.ok("2026-10-31T15:00:00Z", "run")  # Sat 11 AM EDT: the 24 h text
    assert len(practice.sms()) == 1
    new = "https://us02web.zoom.us/j/85599999999?pwd=New1"
    practice.schedule(appointment(start="2026-11-01T10:00:00-05:00", link=new))
    practice.ok("2026-11-01T06:30:00Z", "run")  # 1:30 AM EST, the second 1:30 of the night
    assert len(practice.sms()) == 1  # the link-changed notice waits: every text does
    assert any(e["subject"].startswith("New link") for e in practice.emails())  # email goes
    practice.ok("2026-11-01T12:30:00Z", "run")  # 7:30 AM EST
    assert len(practice.sms()) == 1
    practice.ok("2026-11-01T13:00:00Z", "run")  # 8:00 AM EST
    assert practice.sms()[-1]["body"] == (
        f"New link for your Dr. Chen session today at 10:00 AM: {new}"
    )


def test_quiet_hours_are_in_the_clients_own_zone(practice: Practice):
    # 9:30 AM in New York is 6:30 AM in Los Angeles: the LA client's text waits.
    practice.schedule(
        appointment(
            start="2026-11-24T10:00:00-05:00",
            participants=[
                client(),
                client(
                    "cl-2",
                    name="Sam Lee",
                    email="sam@example.org",
                    mobile="+1 617 555 0102",
                    timezone="America/Los_Angeles",
                ),
            ],
        )
    )
    practice.ok("2026-11-22T15:00:00Z", "sync")
    practice.ok("2026-11-23T15:00:00Z", "run")  # 7 AM in LA: only the NY client's text
    assert [s["to"] for s in practice.sms()] == ["+16175550101"]
    practice.ok("2026-11-23T16:00:00Z", "run")  # 8 AM in LA
    assert [s["to"] for s in practice.sms()] == ["+16175550101", "+16175550102"]


def test_quiet_hours_off_and_refused(practice: Practice):
    practice.schedule(appointment(start="2026-11-24T16:00:00-05:00"))
    practice.write_config(sms='provider = "outbox"\nquiet_hours = ""')
    practice.ok("2026-11-24T07:03:00Z", "run")
    assert len(practice.sms()) == 1  # off: the text goes at 2 AM
    practice.write_config(sms='provider = "outbox"\nquiet_hours = "9pm-8am"')
    refused = practice.cli("2026-11-24T07:04:00Z", "run")
    assert refused.exit_code == 2
    assert 'sms.quiet_hours (line 12): expected "HH:MM-HH:MM"' in refused.stderr
