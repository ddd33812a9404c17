"""`linkcli explain` through the real CLI: each step's state and the exact reason it did,
will, or will not go, per participant of a session."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Practice, appointment, client

T0 = "2026-11-20T12:00:00Z"  # first sync: the session is adopted
AT_24H = "2026-11-23T15:00:00-05:00"  # the 24 h reminders go
AFTER = "2026-11-23T15:05:00-05:00"


@pytest.fixture
def group(practice: Practice) -> Practice:
    """A session of three: one with a mobile, one without, one who declined texts."""
    practice.schedule(
        appointment(
            participants=[
                client("cl-1"),
                client("cl-2", name="Noah Kim", email="noah@example.org", mobile=None),
                client(
                    "cl-3",
                    name="Sky Jensen",
                    email="sky@example.org",
                    mobile="+1 617 555 0103",
                    sms_opt_in=False,
                ),
            ]
        )
    )
    practice.ok(T0, "sync")
    practice.ok(AT_24H, "run")
    return practice


def steps(data: dict[str, Any], participant: str) -> dict[tuple[str, str], dict[str, Any]]:
    [p] = [p for p in data["participants"] if p["id"] == participant]
    return {(s["step"], s["channel"]): s for s in p["steps"]}


def test_sent_skipped_and_pending_each_with_its_reason(group: Practice):
    data = json.loads(group.ok(AFTER, "explain", "apt-1001", "--json").stdout)

    alex = steps(data, "cl-1")
    sent = alex[("reminder-24h", "sms")]
    assert sent["state"] == "sent"
    assert sent["reason"].startswith("sent Mon Nov 23, 3:00 PM EST")
    assert sent["to"] == "+1******0101"
    assert sent["body"].startswith("Reminder: Dr. Chen session tomorrow at 3:00 PM. Join here:")
    assert (sent["segments"], sent["encoding"]) == (1, "GSM-7")
    pending = alex[("final-30m", "sms")]
    assert pending["state"] == "pending"
    assert pending["reason"] == "will go at Tue Nov 24, 2:30 PM EST"
    assert pending["due_local"] == "Tue Nov 24, 2:30 PM EST"
    assert pending["body"].startswith("Your session with Dr. Chen starts in 30 min.")
    confirmation = alex[("confirmation", "email")]
    assert confirmation["state"] == "not planned"
    assert "adopted at the first sync" in confirmation["reason"]

    # A client without a mobile simply has the email-only sequence.
    noah = steps(data, "cl-2")
    unplanned = noah[("reminder-24h", "sms")]
    assert (unplanned["state"], unplanned["reason"]) == (
        "not planned",
        "not planned: no mobile number: email only",
    )
    assert unplanned["to"] is None
    assert noah[("final-30m", "sms")]["reason"] == "not planned: no mobile number: email only"
    assert noah[("reminder-24h", "email")]["state"] == "sent"

    sky = steps(data, "cl-3")
    assert sky[("reminder-24h", "sms")]["state"] == "not planned"
    assert "not agreed to texts" in sky[("final-30m", "sms")]["reason"]
    assert data["appointment"]["adopted_at_first_sync"] is True


def test_text_output_shows_each_state_and_why(group: Practice):
    out = group.ok(AFTER, "explain", "apt-1001").stdout

    assert out.startswith("apt-1001: scheduled telehealth session, Tue Nov 24, 3:00 PM EST")
    assert "cl-2 (Noah Kim), times in America/New_York" in out
    assert "sms: -  (no mobile number: email only)" in out
    assert "why:  not planned: no mobile number: email only" in out
    assert "why:  will go at Tue Nov 24, 2:30 PM EST" in out
    assert "why:  sent Mon Nov 23, 3:00 PM EST" in out
    assert "+16175550101" not in out and "alex@example.org" not in out  # masked


def test_stale_snapshot_makes_link_messages_wait(group: Practice):
    # No sync since the 24 h run: by the next afternoon the snapshot is 23 h old.
    data = json.loads(group.ok("2026-11-24T14:30:00-05:00", "explain", "apt-1001", "--json").stdout)
    assert data["snapshot"]["stale"] is True
    reason = steps(data, "cl-1")[("final-30m", "sms")]["reason"]
    assert reason.startswith("waits: stale snapshot (no successful sync since Mon Nov 23")


def test_a_step_whose_window_passed_before_planning(practice: Practice):
    practice.ok(T0, "sync")
    practice.schedule(
        appointment(),
        appointment(
            id="apt-2002",
            participants=[
                client(
                    "cl-9", name="Finn Byrne", email="finn@example.org", mobile="+1 617 555 0109"
                )
            ],
        ),
    )
    booked = "2026-11-24T10:00:00-05:00"  # booked the same morning, after install
    practice.ok(booked, "run")

    data = json.loads(practice.ok(booked, "explain", "apt-2002", "--json").stdout)
    finn = steps(data, "cl-9")
    assert finn[("confirmation", "email")]["state"] == "sent"
    # The 24 h SMS is still sendable (its window runs to the 30 min one) and went at once;
    # the 24 h email's window closed when the confirmation became due.
    assert finn[("reminder-24h", "sms")]["state"] == "sent"
    assert "session today at 3:00 PM" in finn[("reminder-24h", "sms")]["body"]
    passed = finn[("reminder-24h", "email")]
    assert passed["state"] == "not planned"
    assert passed["reason"].startswith(
        "not planned: its window (due Mon Nov 23, 3:00 PM EST) "
        "had passed when this version of the session was "
        "planned at Tue Nov 24, 10:00 AM EST"
    )


def test_unknown_appointment_is_a_usage_error(group: Practice):
    result = group.cli(AFTER, "explain", "apt-9999")
    assert result.exit_code == 2
    assert "no appointment 'apt-9999'" in result.stderr
    assert result.stdout == ""


def test_the_therapist_reads_the_same_name_in_texts_emails_calendar_files_and_explain(
    practice: Practice,
):
    """A configured name without a display name does not override the source's display
    name: the text, the email, its calendar file and `explain` all say "Dr. Chen"."""
    from linkcli.compose import calendar_file
    from linkcli.config import load_config
    from linkcli.core.model import parse_appointment

    practice.write_config('[therapists."th-1"]\nname = "Maya Chen"\n')
    practice.ok(T0, "sync")
    practice.ok(AT_24H, "run")
    [text] = practice.sms()
    assert text["body"].startswith("Reminder: Dr. Chen session tomorrow at 3:00 PM.")
    [email] = practice.emails()
    assert email["subject"].startswith("Reminder: your session with Dr. Chen tomorrow")
    data = json.loads(practice.ok(AFTER, "explain", "apt-1001", "--json").stdout)
    assert data["appointment"]["therapist"]["shown"] == "Dr. Chen"

    config = load_config(practice.config, {})
    appt = parse_appointment(appointment())
    ics = calendar_file(config, appt, appt.participants[0], 0, appt.start).decode()
    assert "SUMMARY:Session with Dr. Chen" in ics
