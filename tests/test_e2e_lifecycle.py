"""A session's whole life through the real CLI: booking, 24 h before, 30 min before, after
the start; Twilio under the real library (HTTP answered by respx) and a real SMTP server
on 127.0.0.1; the clock moved with LINKCLI_NOW."""

from __future__ import annotations

from icalendar import Calendar

from tests.conftest import TWILIO_ENV, ZOOM, Practice, appointment, client

BOOKED = "2026-11-20T15:00:00Z"
DAY_BEFORE = "2026-11-23T20:00:00Z"  # start (20:00Z = 15:00 EST) - 24 h
HALF_HOUR = "2026-11-24T19:30:00Z"
AFTER = "2026-11-24T20:01:00Z"


def real_channels(practice: Practice, smtp_port: int) -> None:
    practice.write_config(
        sms='provider = "twilio"\nfrom_number = "+16175550100"',
        email=f'provider = "smtp"\nsmtp_host = "127.0.0.1"\nsmtp_port = {smtp_port}\n'
        'security = "none"\nfrom_address = "reminders@example.org"\n'
        'from_name = "Riverside Therapy"',
    )
    practice.extra_env.update(TWILIO_ENV)


def test_session_life_sends_each_message_once(practice, smtp_server, twilio_api):
    server = smtp_server()
    real_channels(practice, server.port)
    practice.schedule()  # linkcli is installed before this session is booked
    practice.ok("2026-11-20T12:00:00Z", "sync")
    practice.schedule(appointment())

    practice.ok(BOOKED, "run")
    assert twilio_api.posted == []
    [confirmation] = server.inbox.messages
    assert server.inbox.recipients == [["alex@example.org"]]
    assert confirmation["Subject"] == "Your session with Dr. Chen on Tuesday, November 24"
    text = confirmation.get_body(preferencelist=("plain",)).get_content()
    assert "booked for Tuesday, November 24 at 3:00 PM" in text
    assert ZOOM in text

    practice.ok("2026-11-23T19:59:00Z", "run")
    assert twilio_api.posted == []

    practice.ok(DAY_BEFORE, "run")
    practice.ok(DAY_BEFORE, "dispatch")  # a second cron tick in the same minute
    assert twilio_api.posted == [
        {
            "To": "+16175550101",
            "From": "+16175550100",
            "Body": f"Reminder: Dr. Chen session tomorrow at 3:00 PM. Join here: {ZOOM} "
            "Reply STOP to opt out.",
        }
    ]
    assert len(server.inbox.messages) == 2
    reminder = server.inbox.messages[1]
    assert reminder["Subject"] == "Reminder: your session with Dr. Chen tomorrow at 3:00 PM"
    [ics] = [part for part in reminder.walk() if part.get_content_type() == "text/calendar"]
    event = Calendar.from_ical(ics.get_content()).walk("VEVENT")[0]
    assert str(event["LOCATION"]) == ZOOM
    assert str(event["URL"]) == ZOOM
    assert str(event["UID"]) == "apt-1001.cl-1@linkcli"
    assert event.decoded("DTSTART").isoformat() == "2026-11-24T15:00:00-05:00"

    practice.ok(HALF_HOUR, "run")
    assert len(twilio_api.posted) == 2
    assert twilio_api.posted[1]["Body"] == (
        f"Your session with Dr. Chen starts in 30 min. Join now: {ZOOM}"
    )

    practice.ok(AFTER, "run")
    assert len(twilio_api.posted) == 2 and len(server.inbox.messages) == 2
    sends = practice.status(AFTER)["sends"]
    assert sends == {
        "pending": 0,
        "sending": 0,
        "sent": 4,
        "delivered": 0,
        "failed": 0,
        "canceled": 0,
        "skipped": 0,
    }


def test_late_cron_sends_only_the_latest_sms_with_the_real_minutes_left(practice):
    practice.ok("2026-11-22T12:00:00Z", "sync")
    late = practice.cli("2026-11-24T19:47:00Z", "run")
    # The 24 h text was due for a day and no run came: given up, and said.
    assert late.exit_code == 1
    assert late.stderr == (
        "linkcli: error: 1 send(s) failed: reminder-24h sms for apt-1001 given up: its window "
        "passed while it was due: no run came in time (is cron running?)\n"
    )
    [sms] = practice.sms()
    assert sms["body"] == (
        f"Your session with Dr. Chen starts in 13 min. Join now: {ZOOM} Reply STOP to opt out."
    )
    # The 24 h email has no later email step: it still goes, and says "today".
    [email] = practice.emails()
    assert email["subject"] == "Reminder: your session with Dr. Chen today at 3:00 PM"
    report = practice.status("2026-11-24T19:47:00Z")
    assert report["sends"]["failed"] == 1 and report["sends"]["sent"] == 2


def test_nothing_goes_after_the_session_started(practice):
    practice.ok("2026-11-22T12:00:00Z", "sync")
    assert practice.cli("2026-11-24T20:00:00Z", "run").exit_code == 1
    assert practice.sms() == [] and practice.emails() == []
    # The sends were planned at the first sync and given up once their moment passed:
    # no run came in time, which is linkcli failing the client, not their choice.
    assert practice.status("2026-11-24T20:00:00Z")["sends"]["failed"] == 3


def test_24h_is_elapsed_time_across_the_dst_change(practice):
    # DST ends 2026-11-01 02:00 EDT; 24 h before Sun 10:00 EST is Sat 11:00 EDT.
    practice.schedule(appointment(start="2026-11-01T10:00:00-05:00"))
    practice.ok("2026-10-30T12:00:00Z", "sync")
    practice.ok("2026-10-31T14:59:00Z", "run")
    assert practice.sms() == []
    practice.ok("2026-10-31T15:00:00Z", "run")
    [sms] = practice.sms()
    assert sms["body"].startswith("Reminder: Dr. Chen session tomorrow at 10:00 AM.")


def test_day_and_time_in_the_clients_zone_across_midnight(practice):
    # 00:15 EST Wednesday is 23:15 CST Tuesday for a client in Chicago.
    practice.schedule(
        appointment(
            start="2026-11-25T00:15:00-05:00",
            participants=[client(timezone="America/Chicago")],
        )
    )
    practice.write_config(sms='provider = "outbox"\nquiet_hours = ""')  # texts at 11 PM
    practice.ok("2026-11-22T12:00:00Z", "sync")
    practice.ok("2026-11-24T05:15:00Z", "run")  # Mon 23:15 CST
    [sms] = practice.sms()
    assert sms["body"].startswith("Reminder: Dr. Chen session tomorrow at 11:15 PM.")
    practice.ok("2026-11-25T05:00:00Z", "run")  # Tue 23:00 CST, 15 min before
    assert practice.sms()[1]["body"].startswith("Your session with Dr. Chen starts in 15 min.")


def test_dispatch_every_minute_never_sends_twice(practice):
    practice.ok("2026-11-24T19:00:00Z", "sync")
    for minute in range(0, 40):
        practice.ok(f"2026-11-24T19:{20 + minute // 2:02d}:{(minute % 2) * 30:02d}Z", "dispatch")
    # Installed an hour before: the 24 h SMS still goes (its window runs to the 30 min
    # step), then the 30 min SMS; each exactly once over 40 ticks.
    assert [s["key"] for s in practice.sms()] == [
        "apt-1001/cl-1/reminder-24h/sms/r1",
        "apt-1001/cl-1/final-30m/sms/r1",
    ]
    assert practice.sms()[0]["body"].startswith("Reminder: Dr. Chen session today at 3:00 PM.")
