"""Never twice, never lost: fault injection against local servers on 127.0.0.1."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import SID, TWILIO_ENV, ZOOM, Inbox, Practice, appointment, client
from tests.twilio_server import TwilioServer

SYNCED = "2026-11-23T12:00:00Z"
DUE = "2026-11-23T20:00:00Z"  # the 24 h reminder of the default session


def twilio_config(practice: Practice, url: str, timeout: float = 5.0) -> None:
    practice.write_config(
        sms=f'provider = "twilio"\nfrom_number = "+16175550100"\n'
        f'api_base_url = "{url}"\ntimeout = {timeout}'
    )
    practice.extra_env.update(TWILIO_ENV)


def rows(practice: Practice) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(practice.db) as db:
        return db.execute(
            "select step || '/' || channel, state, reason from sends order by id"
        ).fetchall()


def state_of(practice: Practice, key_part: str) -> str:
    return next(s for k, s, _ in rows(practice) if k == key_part)


def test_killed_after_twilio_accepted_is_recorded_not_resent(practice):
    with TwilioServer() as twilio:
        twilio_config(practice, twilio.url)
        practice.ok(SYNCED, "sync")
        twilio.state.hang_after_accept = True
        proc = subprocess.Popen(
            [sys.executable, "-m", "linkcli", "dispatch"],
            env=practice.env(DUE),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert twilio.state.accepted.wait(30)
        proc.kill()  # kill -9 while Twilio holds the message and we recorded nothing
        proc.wait()
        assert state_of(practice, "reminder-24h/sms") == "sending"
        twilio.state.hang_after_accept = False
        result = practice.cli("2026-11-23T20:01:00Z", "dispatch")
        assert result.exit_code == 0, result.stderr
        assert twilio.state.creates == 1  # found through the message list, not sent again
        assert [m["body"] for m in twilio.state.messages] == [
            f"Reminder: Dr. Chen session tomorrow at 3:00 PM. Join here: {ZOOM} "
            "Reply STOP to opt out."
        ]
        assert state_of(practice, "reminder-24h/sms") == "sent"


def test_an_accepted_message_whose_answer_never_came_is_looked_up_not_resent(practice):
    with TwilioServer() as twilio:
        twilio_config(practice, twilio.url, timeout=0.5)
        practice.ok(SYNCED, "sync")
        twilio.state.hang_after_accept = True
        first = practice.cli(DUE, "dispatch")
        assert first.exit_code == 0 and "ReadTimeout" in first.stderr
        assert first.stderr.startswith("linkcli: warning: 1 send(s) failed and will be retried")
        twilio.state.hang_after_accept = False
        practice.ok("2026-11-23T20:01:00Z", "dispatch")
        assert twilio.state.creates == 1
        assert state_of(practice, "reminder-24h/sms") == "sent"


def test_three_dispatches_at_once_send_each_message_exactly_once(practice):
    practice.schedule(
        *[
            appointment(
                id=f"apt-{i}",
                participants=[
                    client(id=f"cl-{i}", mobile=f"+1 617 555 01{i:02d}", email=f"c{i}@example.org")
                ],
            )
            for i in range(10, 22)
        ]
    )
    practice.ok(SYNCED, "sync")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "linkcli", "dispatch"],
            env=practice.env(DUE),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    codes = [p.wait(60) for p in procs]
    errors = [p.stderr.read() for p in procs if p.stderr]
    assert set(codes) <= {0, 4}, errors
    assert "Traceback" not in "".join(errors)
    keys = [m["key"] for m in practice.sms()]
    assert len(keys) == 12 and len(set(keys)) == 12
    assert len(practice.emails()) == 12


@pytest.mark.parametrize("status", [500, 503, 429])
def test_transient_provider_errors_are_retried_with_backoff_and_sent_once(practice, status):
    with TwilioServer() as twilio:
        twilio_config(practice, twilio.url)
        practice.ok(SYNCED, "sync")
        twilio.state.failures = [(status, 20500 if status != 429 else 20429)] * 2
        first = practice.cli(DUE, "dispatch")
        # Said once, as a warning: it will be retried, so nothing has failed yet.
        assert first.exit_code == 0
        assert first.stderr.startswith(
            "linkcli: warning: 1 send(s) failed and will be retried: "
            "reminder-24h sms to +1******0101 for apt-1001:"
        )
        assert practice.cli("2026-11-23T20:00:30Z", "dispatch").exit_code == 0  # backing off
        assert twilio.state.creates == 1
        again = practice.ok("2026-11-23T20:01:00Z", "dispatch")  # 2nd failure: not said again
        assert again.stderr == ""
        practice.ok("2026-11-23T20:02:00Z", "dispatch")  # still backing off (2 min)
        practice.ok("2026-11-23T20:03:00Z", "dispatch")
        assert twilio.state.creates == 3
        assert len(twilio.state.messages) == 1
        assert state_of(practice, "reminder-24h/sms") == "sent"


def test_connection_refused_is_retried_until_the_window_closes_then_failed(practice):
    twilio_config(practice, "http://127.0.0.1:9", timeout=1.0)
    practice.ok(SYNCED, "sync")
    assert "will be retried" in practice.ok(DUE, "dispatch").stderr
    assert state_of(practice, "reminder-24h/sms") == "pending"
    result = practice.cli("2026-11-24T19:30:00Z", "run")  # the 30 min step is due now
    assert state_of(practice, "reminder-24h/sms") == "failed"
    reason = next(r for k, _, r in rows(practice) if k == "reminder-24h/sms")
    assert reason.startswith("gave up: its moment passed after 1 failed attempt(s)")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "linkcli: error: 1 send(s) failed: reminder-24h sms for apt-1001 given up: its "
        "moment passed after 1 failed attempt(s)"
    )


def test_smtp_down_then_back_loses_nothing(practice):
    port = __import__("tests.conftest", fromlist=["free_port"]).free_port()
    practice.write_config(
        email=f'provider = "smtp"\nsmtp_host = "127.0.0.1"\n'
        f'smtp_port = {port}\nsecurity = "none"\ntimeout = 2\n'
        'from_address = "reminders@example.org"'
    )
    practice.ok(SYNCED, "sync")
    down = practice.cli(DUE, "dispatch")
    assert down.exit_code == 0 and "reminder-24h email to a***@example.org" in down.stderr
    assert len(practice.sms()) == 1  # the text went regardless
    inbox = Inbox()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        practice.ok("2026-11-23T20:01:00Z", "dispatch")
        practice.ok("2026-11-23T20:02:00Z", "dispatch")
    finally:
        server.stop()
    assert len(inbox.messages) == 1
    assert inbox.messages[0]["Subject"] == (
        "Reminder: your session with Dr. Chen tomorrow at 3:00 PM"
    )


def test_unsubscribed_21610_stops_texts_but_not_email(practice):
    with TwilioServer() as twilio:
        twilio_config(practice, twilio.url)
        practice.ok(SYNCED, "sync")
        twilio.state.failures = [(400, 21610)]
        result = practice.cli(DUE, "dispatch")
        assert result.exit_code == 1
        assert state_of(practice, "reminder-24h/sms") == "failed"
        assert len(practice.emails()) == 1
        practice.ok("2026-11-24T19:30:00Z", "run")
        assert twilio.state.creates == 1  # the 30 min text is never attempted
        assert state_of(practice, "final-30m/sms") == "skipped"
        kinds = {a["kind"] for a in practice.status("2026-11-24T19:30:00Z")["attention"]}
        # The client's own choice (they unsubscribed) is honoured, not listed as a problem.
        assert "opted_out" not in kinds


@pytest.mark.parametrize("code", [21211, 21614, 21635, 30006])
def test_invalid_or_landline_numbers_are_not_retried(practice, code):
    with TwilioServer() as twilio:
        twilio_config(practice, twilio.url)
        practice.ok(SYNCED, "sync")
        twilio.state.failures = [(400, code)]
        assert practice.cli(DUE, "dispatch").exit_code == 1
        practice.ok("2026-11-24T19:30:00Z", "run")
        assert twilio.state.creates == 1
        attention = practice.status("2026-11-24T19:30:00Z")["attention"]
        assert any(a["kind"] == "bad_mobile" and a["participant"] == "cl-1" for a in attention)


def test_auth_failure_stops_the_run_with_one_line_and_leaves_sends_pending(practice):
    practice.schedule(appointment(), appointment(id="apt-1002"))
    with TwilioServer() as twilio:
        twilio_config(practice, twilio.url)
        practice.ok(SYNCED, "sync")
        twilio.state.failures = [(401, 20003)]
        result = practice.cli(DUE, "dispatch")
        assert result.exit_code == 1
        assert result.stderr.count("linkcli: error:") == 1
        assert "Twilio error 20003: authentication failed" in result.stderr
        assert twilio.state.creates == 1
        assert [s for k, s, _ in rows(practice) if k.endswith("/sms")].count("pending") == 4


def test_stop_reply_is_honoured_before_the_next_text_and_start_resumes(practice, twilio_api):
    practice.write_config(sms='provider = "twilio"\nfrom_number = "+16175550100"')
    practice.extra_env.update(TWILIO_ENV)
    practice.ok(SYNCED, "sync")
    twilio_api.inbound.append(
        {
            "sid": "SM" + "1" * 32,
            "from": "+16175550101",
            "to": "+16175550100",
            "body": " Stop ",
            "direction": "inbound",
            "status": "received",
            "date_sent": "Mon, 23 Nov 2026 13:00:00 +0000",
        }
    )
    practice.ok(DUE, "dispatch")
    assert twilio_api.posted == []
    assert len(practice.emails()) == 1
    twilio_api.inbound.append(
        {
            **twilio_api.inbound[0],
            "sid": "SM" + "2" * 32,
            "body": "START",
            "date_sent": "Tue, 24 Nov 2026 12:00:00 +0000",
        }
    )
    practice.ok("2026-11-24T19:30:00Z", "run")
    assert [p["Body"][:30] for p in twilio_api.posted] == ["Your session with Dr. Chen sta"]


def test_inbound_cancel_opts_out_and_asks_a_human(practice, twilio_api):
    practice.write_config(sms='provider = "twilio"\nfrom_number = "+16175550100"')
    practice.extra_env.update(TWILIO_ENV)
    practice.ok(SYNCED, "sync")
    practice.ok(DUE, "dispatch")
    twilio_api.inbound.append(
        {
            "sid": "SM" + "3" * 32,
            "from": "+16175550101",
            "to": "+16175550100",
            "body": "CANCEL",
            "direction": "inbound",
            "status": "received",
            "date_sent": "Tue, 24 Nov 2026 12:00:00 +0000",
        }
    )
    practice.ok("2026-11-24T19:30:00Z", "run")
    assert len(twilio_api.posted) == 1
    attention = practice.status("2026-11-24T19:30:00Z")["attention"]
    cancel = [a for a in attention if a["kind"] == "inbound_cancel"]
    assert [(a["appointment"], a["participant"]) for a in cancel] == [("apt-1001", "cl-1")]
    assert "+16175550101" not in str(attention)


def test_delivery_status_moves_forward_only(practice, twilio_api):
    practice.write_config(sms='provider = "twilio"\nfrom_number = "+16175550100"')
    practice.extra_env.update(TWILIO_ENV)
    practice.ok(SYNCED, "sync")
    practice.ok(DUE, "dispatch")
    sid = f"SM{1:032d}"
    twilio_api.statuses[sid] = ("delivered", None)
    practice.ok("2026-11-23T20:05:00Z", "dispatch")
    assert state_of(practice, "reminder-24h/sms") == "delivered"
    twilio_api.statuses[sid] = ("sent", None)  # a late, older report
    practice.ok("2026-11-23T20:10:00Z", "dispatch")
    assert state_of(practice, "reminder-24h/sms") == "delivered"
    assert practice.status("2026-11-23T20:10:00Z")["sends"]["delivered"] == 1


def test_undelivered_is_shown_with_its_error(practice, twilio_api):
    practice.write_config(sms='provider = "twilio"\nfrom_number = "+16175550100"')
    practice.extra_env.update(TWILIO_ENV)
    practice.ok(SYNCED, "sync")
    practice.ok(DUE, "dispatch")
    twilio_api.statuses[f"SM{1:032d}"] = ("undelivered", 30003)
    practice.ok("2026-11-23T20:05:00Z", "dispatch")
    attention = practice.status("2026-11-23T20:05:00Z")["attention"]
    failed = [a for a in attention if a["kind"] == "failed_send"]
    assert failed[0]["reason"] == (
        "reminder-24h sms failed: not delivered (undelivered, error 30003)"
    )


def test_link_change_after_a_reminder_reaches_everyone_who_had_the_old_link(practice):
    practice.schedule(
        appointment(
            participants=[client(), client(id="cl-2", mobile=None, email="sam@example.org")]
        )
    )
    practice.ok(SYNCED, "sync")
    practice.ok(DUE, "run")
    new = "https://us02web.zoom.us/j/85599999999?pwd=New1"
    practice.schedule(
        appointment(
            link=new,
            participants=[client(), client(id="cl-2", mobile=None, email="sam@example.org")],
        )
    )
    practice.ok("2026-11-24T13:00:00Z", "run")  # 8 AM in New York: after quiet hours
    assert practice.sms()[-1]["body"] == (
        f"New link for your Dr. Chen session today at 3:00 PM: {new}"
    )
    changed = [e for e in practice.emails() if e["subject"].startswith("New link")]
    assert sorted(e["to"] for e in changed) == ["alex@example.org", "sam@example.org"]
    practice.ok("2026-11-24T13:15:00Z", "run")  # nothing changed: nothing more
    assert len([e for e in practice.emails() if e["subject"].startswith("New link")]) == 2


def test_cancellation_after_a_reminder_sends_a_calendar_cancel(practice):
    practice.ok(SYNCED, "sync")
    practice.ok(DUE, "run")
    practice.schedule(appointment(status="canceled"))
    practice.ok("2026-11-24T12:00:00Z", "run")
    last = practice.emails()[-1]
    assert last["subject"] == "Canceled: your session with Dr. Chen on Tuesday, November 24"
    assert last["ics_method"] == "CANCEL"
    assert len(practice.sms()) == 1


def test_a_corrupt_database_is_reported_and_left_alone(practice):
    practice.db.write_bytes(b"this is not a database" * 100)
    result = practice.cli(SYNCED, "sync")
    assert result.exit_code == 2
    assert "cannot be used" in result.stderr and "Traceback" not in result.output
    assert practice.db.read_bytes() == b"this is not a database" * 100


def test_an_impossible_date_is_one_skipped_record(practice):
    practice.schedule(appointment(), {**appointment(id="apt-2"), "start": "2026-02-30T10:00:00Z"})
    result = practice.cli(SYNCED, "sync")
    assert result.exit_code == 0
    assert "record 'apt-2': start '2026-02-30T10:00:00Z' is not an ISO 8601 time" in result.stderr


def test_a_huge_source_file_syncs(practice):
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    practice.schedule(
        *[
            appointment(
                id=f"apt-{i}",
                start=now.replace(hour=13 + i % 10, day=24 + i % 5).isoformat(),
                participants=[client(id=f"cl-{i}")],
            )
            for i in range(3000)
        ]
    )
    practice.ok(SYNCED, "sync")
    assert practice.status(SYNCED)["last_sync"]["counts"]["created"] == 3000


def test_secrets_never_reach_output_or_the_database(practice, twilio_api):
    practice.write_config(sms='provider = "twilio"\nfrom_number = "+16175550100"')
    practice.extra_env.update(TWILIO_ENV)
    practice.ok(SYNCED, "sync")
    twilio_api.failures = [(401, 20003)]
    result = practice.cli(DUE, "dispatch")
    assert TWILIO_ENV["TWILIO_AUTH_TOKEN"] not in result.output + result.stderr
    assert TWILIO_ENV["TWILIO_AUTH_TOKEN"].encode() not in practice.db.read_bytes()
    assert SID in TWILIO_ENV["TWILIO_ACCOUNT_SID"]


def test_a_database_locked_by_another_program_exits_4_and_loses_nothing(practice):
    practice.ok(SYNCED, "sync")
    before = rows(practice)
    practice.schedule(appointment(start="2026-11-25T10:00:00-05:00"))
    holder = sqlite3.connect(practice.db, isolation_level=None)
    holder.execute("begin immediate")  # e.g. a backup tool writing
    try:
        result = practice.cli("2026-11-23T12:15:00Z", "sync")
    finally:
        holder.execute("rollback")
        holder.close()
    assert result.exit_code == 4
    assert "the database is busy (database is locked); nothing was changed" in result.stderr
    assert rows(practice) == before
    practice.ok("2026-11-23T12:16:00Z", "sync")
    assert rows(practice) != before


def test_several_failed_sends_make_one_stderr_line(practice):
    practice.schedule(
        appointment(),
        appointment(
            id="apt-2",
            participants=[client(id="cl-2", mobile="+1 617 555 0102", email="b@example.org")],
        ),
    )
    with TwilioServer() as twilio:
        twilio_config(practice, twilio.url)
        practice.ok(SYNCED, "sync")
        twilio.state.failures = [(500, 20500), (500, 20500)]
        result = practice.cli(DUE, "dispatch")
    assert result.exit_code == 0  # both will be retried
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(
        "linkcli: warning: 2 send(s) failed and will be retried: reminder-24h sms to "
    )
    assert result.stderr.rstrip().endswith("(and 1 more; see `linkcli status`)")


def test_every_link_change_is_told_even_back_and_forth(practice):
    a, b = ZOOM, "https://us02web.zoom.us/j/85599999999?pwd=B"
    practice.ok(SYNCED, "sync")
    for hour, link in ((20, a), (21, b), (22, a), (23, b)):
        practice.schedule(appointment(link=link))
        practice.ok(f"2026-11-23T{hour}:00:00Z", "run")
    changed = [s["body"] for s in practice.sms() if s["body"].startswith("New link")]
    assert [body.rsplit(" ", 1)[-1] for body in changed] == [b, a, b]
