"""`sync` through the real CLI: diff events, re-anchoring, cancellation, bad listings,
the mass-vanish guard and first-sync adoption."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from datetime import UTC, datetime

from tests.conftest import ZOOM, Practice, appointment, client

T0 = "2026-11-20T12:00:00Z"


def states(practice: Practice) -> dict[str, str]:
    with sqlite3.connect(practice.db) as db:
        return dict(db.execute("select key, state from sends order by id").fetchall())


def test_first_sync_adopts_without_confirmations_but_keeps_reminders(practice):
    practice.ok(T0, "sync")
    assert sorted(states(practice)) == [
        "apt-1001/cl-1/final-30m/sms/r1",
        "apt-1001/cl-1/reminder-24h/email/r1",
        "apt-1001/cl-1/reminder-24h/sms/r1",
    ]
    practice.ok(T0, "dispatch")
    assert practice.emails() == []


def test_confirm_existing_sends_booking_confirmations_on_first_sync(practice):
    practice.ok(T0, "sync", "--confirm-existing")
    practice.ok(T0, "dispatch")
    [email] = practice.emails()
    assert email["subject"] == "Your session with Dr. Chen on Tuesday, November 24"
    assert email["to"] == "alex@example.org"


def test_new_booking_after_install_gets_a_confirmation(practice):
    practice.ok(T0, "sync")
    practice.schedule(appointment(), appointment(id="apt-1002", start="2026-11-26T09:00:00-05:00"))
    practice.ok("2026-11-20T12:15:00Z", "run")
    [email] = practice.emails()
    assert email["subject"] == "Your session with Dr. Chen on Thursday, November 26"
    assert practice.status("2026-11-20T12:15:00Z")["last_sync"]["counts"]["created"] == 1


def test_reschedule_cancels_pending_and_reanchors_on_the_new_start(practice):
    practice.ok(T0, "sync")
    practice.schedule(appointment(start="2026-11-25T11:00:00-05:00"))
    practice.ok("2026-11-21T12:00:00Z", "sync")
    got = states(practice)
    assert {k: v for k, v in got.items() if k.endswith("/r1")} == {
        "apt-1001/cl-1/final-30m/sms/r1": "canceled",
        "apt-1001/cl-1/reminder-24h/email/r1": "canceled",
        "apt-1001/cl-1/reminder-24h/sms/r1": "canceled",
    }
    assert got["apt-1001/cl-1/reminder-24h/sms/r2"] == "pending"
    preview = practice.preview("2026-11-21T12:00:00Z")
    sms_24h = [p for p in preview if p["step"] == "reminder-24h" and p["channel"] == "sms"]
    assert sms_24h[0]["due"] == "2026-11-24T16:00:00+00:00"
    assert "Wednesday" not in sms_24h[0]["body"] and "tomorrow at 11:00 AM" in sms_24h[0]["body"]


def test_same_day_move_after_the_reminder_is_sent_at_once_and_flagged(practice):
    practice.ok(T0, "sync")
    practice.ok("2026-11-23T20:00:00Z", "run")  # 24 h SMS + email for 15:00
    practice.schedule(appointment(start="2026-11-24T17:00:00-05:00"))
    practice.ok("2026-11-24T14:00:00Z", "run")  # 09:00 EST: moved to 17:00 today
    bodies = [s["body"] for s in practice.sms()]
    assert bodies[1] == f"Reminder: Dr. Chen session today at 5:00 PM. Join here: {ZOOM}"
    attention = practice.status("2026-11-24T14:00:00Z")["attention"]
    moved = [a for a in attention if a["kind"] == "moved_after_reminder"]
    assert len(moved) == 1 and moved[0]["appointment"] == "apt-1001"
    # Moved today: the 24 h email, planned afresh, goes at once with the new time (and its
    # calendar update); the confirmation gives way to it rather than doubling it.
    assert [e["subject"] for e in practice.emails()] == [
        "Reminder: your session with Dr. Chen tomorrow at 3:00 PM",
        "Reminder: your session with Dr. Chen today at 5:00 PM",
    ]


def test_cancellation_withdraws_every_pending_send(practice):
    practice.ok(T0, "sync")
    practice.schedule(appointment(status="canceled"))
    practice.ok("2026-11-21T12:00:00Z", "sync")
    assert set(states(practice).values()) == {"canceled"}
    practice.ok("2026-11-24T19:30:00Z", "run")
    assert practice.sms() == []


def test_vanished_inside_the_window_counts_as_canceled(practice):
    practice.schedule(appointment(), appointment(id="apt-1002", start="2026-11-26T09:00:00-05:00"))
    practice.ok(T0, "sync")
    practice.schedule(appointment())
    practice.ok("2026-11-21T12:00:00Z", "sync")
    report = practice.status("2026-11-21T12:00:00Z")
    assert report["last_sync"]["counts"]["canceled"] == 1
    assert {k: v for k, v in states(practice).items() if k.startswith("apt-1002")} == {
        "apt-1002/cl-1/final-30m/sms/r1": "canceled",
        "apt-1002/cl-1/reminder-24h/email/r1": "canceled",
        "apt-1002/cl-1/reminder-24h/sms/r1": "canceled",
    }


def test_mass_vanish_is_refused_unless_forced(practice):
    practice.schedule(
        *[appointment(id=f"apt-{i}", start=f"2026-11-2{i}T09:00:00-05:00") for i in range(3, 9)]
    )
    practice.ok(T0, "sync")
    practice.schedule(appointment(id="apt-3", start="2026-11-23T09:00:00-05:00"))
    before = states(practice)
    result = practice.cli("2026-11-21T12:00:00Z", "sync")
    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1
    assert "5 of 6 upcoming appointments vanished" in result.stderr
    assert states(practice) == before
    report = practice.status("2026-11-21T12:00:00Z")
    assert report["last_sync"]["ok"] is False
    practice.ok("2026-11-21T12:00:00Z", "sync", "--force")
    assert sum(v == "canceled" for v in states(practice).values()) == 15


def test_explicit_mass_cancellation_is_honoured(practice):
    records = [
        appointment(id=f"apt-{i}", start=f"2026-11-2{i}T09:00:00-05:00") for i in range(3, 9)
    ]
    practice.schedule(*records)
    practice.ok(T0, "sync")
    practice.schedule(*[{**r, "status": "canceled"} for r in records])  # a snow day
    practice.ok("2026-11-21T12:00:00Z", "sync")
    assert set(states(practice).values()) == {"canceled"}


def test_unreadable_listing_exits_3_and_changes_nothing(practice):
    practice.ok(T0, "sync")
    before = states(practice)
    (practice.root / "appointments.json").write_text('[{"id": "apt-1001", ')
    result = practice.cli("2026-11-21T12:00:00Z", "sync")
    assert result.exit_code == 3
    assert result.stderr.startswith("linkcli: error: source file ")
    assert "is not valid JSON (line 1" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert states(practice) == before


def test_run_dispatches_from_the_last_good_snapshot_when_sync_fails(practice):
    practice.ok("2026-11-23T12:00:00Z", "sync")
    (practice.root / "appointments.json").write_text("not json")
    result = practice.cli("2026-11-23T20:00:00Z", "run")
    assert result.exit_code == 3
    assert [s["to"] for s in practice.sms()] == ["+16175550101"]


def test_stale_snapshot_makes_link_messages_wait(practice):
    practice.ok("2026-11-23T06:00:00Z", "sync")
    result = practice.cli("2026-11-23T20:00:00Z", "dispatch")  # 14 h later, no sync since
    assert result.exit_code == 0
    assert practice.sms() == []
    assert "wait: the last good sync is too old" in result.stderr
    kinds = [a["kind"] for a in practice.status("2026-11-23T20:00:00Z")["attention"]]
    assert "stale_snapshot" in kinds


def test_one_malformed_record_is_skipped_and_never_cancels(practice):
    practice.schedule(appointment(), appointment(id="apt-1002", start="2026-11-26T09:00:00-05:00"))
    practice.ok(T0, "sync")
    practice.schedule(
        appointment(),
        {**appointment(id="apt-1002"), "start": "next thursday"},
        appointment(id="apt-1003", start="2026-11-27T09:00:00-05:00"),
    )
    result = practice.cli("2026-11-21T12:00:00Z", "sync")
    assert result.exit_code == 0
    assert result.stderr == (
        "linkcli: warning: record #2 skipped: record 'apt-1002': start "
        "'next thursday' is not an ISO 8601 time\n"
    )
    got = states(practice)
    assert got["apt-1002/cl-1/reminder-24h/sms/r1"] == "pending"
    assert got["apt-1003/cl-1/reminder-24h/sms/r1"] == "pending"
    attention = practice.status("2026-11-21T12:00:00Z")["attention"]
    assert [a["appointment"] for a in attention if a["kind"] == "bad_record"] == ["apt-1002"]


def test_group_session_gives_each_participant_their_own_sequence(practice):
    practice.schedule(
        appointment(
            participants=[
                client(),
                client(id="cl-2", name="Sam Lee", email="sam@example.org", mobile="(617) 555-0102"),
                client(id="cl-3", name="Jo Park", email="jo@example.org", mobile=None),
                client(id="cl-4", name="Ana Diaz", email="ana@example.org", mobile="+1 555"),
            ]
        )
    )
    practice.ok(T0, "sync")
    practice.ok("2026-11-23T20:00:00Z", "run")
    assert sorted(s["to"] for s in practice.sms()) == ["+16175550101", "+16175550102"]
    assert sorted(e["to"] for e in practice.emails()) == [
        "alex@example.org",
        "ana@example.org",
        "jo@example.org",
        "sam@example.org",
    ]
    attention = practice.status("2026-11-23T20:00:00Z")["attention"]
    bad = [a for a in attention if a["kind"] == "bad_mobile"]
    assert [(a["appointment"], a["participant"]) for a in bad] == [("apt-1001", "cl-4")]
    assert "'***' is not a valid phone number" in bad[0]["reason"]
    # Without a usable mobile the sequence is email only: no text is even planned.
    texts = (
        sqlite3.connect(practice.db)
        .execute("select distinct participant_id from sends where channel = 'sms' order by 1")
        .fetchall()
    )
    assert texts == [("cl-1",), ("cl-2",)]
    assert practice.status("2026-11-23T20:00:00Z")["sends"]["skipped"] == 0


def test_a_generic_or_foreign_link_waits_and_is_flagged(practice):
    practice.schedule(
        appointment(link="https://us02web.zoom.us/my/drchen"),
        appointment(id="apt-1002", link="https://zoom.us.evil.example.com/j/1"),
        appointment(id="apt-1003", link="http://zoom.us/j/123"),
    )
    practice.ok(T0, "sync")
    practice.ok("2026-11-23T20:00:00Z", "run")
    assert practice.sms() == [] and practice.emails() == []
    attention = practice.status("2026-11-23T20:00:00Z")["attention"]
    links = {a["appointment"]: a["reason"] for a in attention if a["kind"] == "link"}
    assert set(links) == {"apt-1001", "apt-1002", "apt-1003"}
    assert "personal meeting room" in links["apt-1001"]
    assert "zoom.us.evil.example.com is not in [links] allowed_hosts" in links["apt-1002"]
    assert "not https" in links["apt-1003"]
    # Fixed in the schedule before the 30 min step: the link goes out. The 24 h
    # messages that waited for it are given up, loudly, naming the refused link.
    practice.schedule(appointment(), appointment(id="apt-1002"), appointment(id="apt-1003"))
    late = practice.cli("2026-11-24T19:30:00Z", "run")
    assert late.exit_code == 1
    assert late.stderr.startswith(
        "linkcli: error: 3 send(s) failed: reminder-24h sms for apt-1001 given up: link refused: "
    )
    assert late.stderr.count("\n") == 1
    assert len(practice.sms()) == 3


def test_in_person_sessions_get_nothing(practice):
    practice.schedule(appointment(format="in_person"))
    practice.ok(T0, "sync")
    practice.ok("2026-11-23T20:00:00Z", "run")
    assert states(practice) == {} and practice.sms() == []


def test_custom_sequence_replaces_the_default(practice):
    practice.write_config(
        extra="""
        [[sequence]]
        name = "day-before"
        before = "24h"
        channels = ["email"]

        [[sequence]]
        name = "hour-before"
        before = "1h"
        channels = ["sms"]

        [templates."day-before"]
        email_subject = "Tomorrow: {therapist}"
        email_body = "See you {day} at {time}: {link}"

        [templates."hour-before"]
        sms = "{therapist} in {starts_in}: {link}"
    """
    )
    practice.ok(T0, "sync")
    practice.ok("2026-11-23T20:00:00Z", "run")
    practice.ok("2026-11-24T19:00:00Z", "run")
    assert [e["text"] for e in practice.emails()] == [f"See you tomorrow at 3:00 PM: {ZOOM}"]
    assert [s["body"] for s in practice.sms()] == [
        f"Dr. Chen in 1 h: {ZOOM} Reply STOP to opt out."
    ]


def test_therapist_templates_override_the_practice(practice):
    practice.write_config(
        extra="""
        [templates."final-30m"]
        sms = "Practice text {link}"

        [therapists."th-1"]
        display_name = "Maya"

        [therapists."th-1".templates."final-30m"]
        sms = "{therapist} is ready for you in {starts_in}: {link}"
    """
    )
    practice.ok(T0, "sync")
    practice.ok("2026-11-23T20:00:00Z", "run")
    practice.ok("2026-11-24T19:30:00Z", "run")
    assert practice.sms()[-1]["body"].startswith(f"Maya is ready for you in 30 min: {ZOOM}")


def test_database_is_readable_by_its_owner_only(practice):
    practice.ok(T0, "sync")
    assert stat.S_IMODE(os.stat(practice.db).st_mode) == 0o600


def test_updated_link_is_read_at_send_time(practice):
    practice.ok(T0, "sync")
    new = "https://us02web.zoom.us/j/85599999999?pwd=Zz9"
    practice.schedule(appointment(link=new))
    practice.ok("2026-11-23T20:00:00Z", "run")
    assert practice.sms()[0]["body"].endswith(f"Join here: {new} Reply STOP to opt out.")
    assert (
        json.loads(practice.ok("2026-11-23T20:00:00Z", "status", "--json").stdout)["sends"]["sent"]
        == 2
    )


def test_retention_purges_bodies_and_departed_sessions(practice):
    practice.write_config(extra='[store]\nretention = "30d"\n')
    practice.ok("2026-11-23T12:00:00Z", "sync")
    practice.ok("2026-11-23T20:00:00Z", "run")
    db = sqlite3.connect(practice.db)
    assert db.execute("select count(*) from sends where body is not null").fetchone() == (2,)
    practice.schedule()
    practice.ok("2026-12-20T12:00:00Z", "sync")  # 27 days on: still kept
    assert db.execute("select count(*) from appointments").fetchone() == (1,)
    practice.ok("2026-12-25T12:00:00Z", "sync")
    assert db.execute(
        "select count(*) from sends where body is not null or recipient is not null"
    ).fetchone() == (0,)
    assert db.execute("select count(*) from appointments").fetchone() == (0,)
    assert practice.status("2026-12-25T12:00:00Z")["sends"]["sent"] == 2


def test_a_lasting_problem_reaches_cron_mail_once(practice):
    practice.schedule(appointment(), {**appointment(id="apt-9"), "start": "soon"})
    assert "record 'apt-9'" in practice.cli(T0, "sync").stderr
    assert practice.cli("2026-11-20T12:15:00Z", "sync").stderr == ""
    kinds = [a["kind"] for a in practice.status("2026-11-20T12:15:00Z")["attention"]]
    assert kinds == ["bad_record"]


def test_status_counts_by_therapist_and_delivery_rate(practice):
    practice.schedule(
        appointment(),
        appointment(
            id="apt-2",
            therapist={"id": "th-2", "name": "Sam Okafor"},
            participants=[client(id="cl-2", mobile="+1 617 555 0102", email="b@example.org")],
        ),
    )
    practice.ok(T0, "sync")
    practice.ok("2026-11-23T20:00:00Z", "run")
    report = practice.status("2026-11-23T20:00:00Z")
    # Every state is a key, zero or not: a monitor reads the same shape every time.
    zero = dict.fromkeys(["sending", "sent", "delivered", "failed", "canceled", "skipped"], 0)
    assert report["therapists"] == {"th-1": {**zero, "sent": 2}, "th-2": {**zero, "sent": 2}}
    assert report["last_7_days"]["sms"] == {**zero, "sent": 2, "delivery_rate": None}
    assert report["last_7_days"]["email"] == {**zero, "sent": 2, "delivery_rate": None}
    screen = practice.ok("2026-11-23T20:00:00Z", "status").stdout
    # People, not ids: the name each therapist is known by (th-2 has no display name).
    assert "By therapist (7 days)" in screen and "Sam Okafor" in screen
    assert report["therapist_names"] == {"th-1": "Dr. Chen", "th-2": "Sam Okafor"}


def test_run_reads_a_local_file_on_every_tick(practice):
    practice.ok("2026-11-23T12:00:00Z", "run")
    (practice.root / "appointments.json").write_text("{broken")
    result = practice.cli("2026-11-23T12:05:00Z", "run")
    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1


def test_run_polls_a_remote_source_at_the_interval(practice, tmp_path):
    feed = tmp_path / "th-1.ics"
    feed.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nEND:VCALENDAR\r\n")
    (tmp_path / "contacts.csv").write_text("client,name,email,mobile,channels,timezone\n")
    practice.write_config(
        extra="""
        [contacts]
        path = "contacts.csv"
        [therapists."th-1"]
        link = "https://th-1.therapyportal.com/room"
    """
    )
    text = practice.config.read_text().replace(
        'kind = "file"\npath = "appointments.json"',
        f'kind = "ics"\nfeeds = [{{ therapist = "th-1", url = "{feed}" }}]',
    )
    practice.config.write_text(text)
    practice.ok("2026-11-23T12:00:00Z", "run")
    feed.write_text("not a calendar")
    assert practice.cli("2026-11-23T12:05:00Z", "run").exit_code == 0  # not yet polled again
    assert practice.cli("2026-11-23T12:15:00Z", "run").exit_code == 3


def test_records_read_unchanged_are_not_parsed_again_but_still_count(practice):
    from linkcli.sources.base import Window
    from linkcli.sources.file import FileSource, raw_digest

    records = [appointment(), appointment(id="apt-2", start="2026-11-26T09:00:00-05:00")]
    practice.schedule(*records)
    practice.ok(T0, "sync")
    practice.ok("2026-11-20T12:15:00Z", "sync")
    assert practice.status("2026-11-20T12:15:00Z")["last_sync"]["counts"]["unchanged"] == 2
    practice.schedule(appointment(), appointment(id="apt-2", start="2026-11-26T10:00:00-05:00"))
    practice.ok("2026-11-20T12:30:00Z", "sync")
    assert practice.status("2026-11-20T12:30:00Z")["last_sync"]["counts"]["rescheduled"] == 1

    # What sync hands the file source: the fingerprints it holds. A record that reads
    # the same is listed as unchanged and never parsed (absent from `appointments`).
    source = FileSource(practice.root / "appointments.json")
    source.known_raw = {"apt-1001": raw_digest(appointment())}
    window = Window(datetime(2026, 11, 19, tzinfo=UTC), datetime(2026, 12, 20, tzinfo=UTC))
    listing = source.fetch(window)
    assert listing.unchanged_ids == {"apt-1001"}
    assert [a.id for a in listing.appointments] == ["apt-2"]


def test_a_vanished_record_that_returns_unchanged_is_restored(practice):
    both = [appointment(), appointment(id="apt-2", start="2026-11-26T09:00:00-05:00")]
    practice.schedule(*both)
    practice.ok(T0, "sync")
    practice.schedule(both[0])
    practice.ok("2026-11-20T12:15:00Z", "sync")
    practice.schedule(*both)
    practice.ok("2026-11-20T12:30:00Z", "sync")
    assert practice.status("2026-11-20T12:30:00Z")["last_sync"]["counts"]["restored"] == 1
    assert states(practice)["apt-2/cl-1/reminder-24h/sms/r2"] == "pending"


def test_a_client_readded_to_a_group_gets_their_reminders_again(practice):
    group = [
        client(),
        client(id="cl-2", name="Sam Lee", email="sam@example.org", mobile="+1 617 555 0102"),
    ]
    practice.schedule(appointment(participants=group))
    practice.ok(T0, "sync")
    practice.schedule(appointment(participants=group[:1]))
    practice.ok("2026-11-21T12:00:00Z", "sync")
    assert states(practice)["apt-1001/cl-2/final-30m/sms/r1"] == "canceled"
    practice.schedule(appointment(participants=group))
    practice.ok("2026-11-22T12:00:00Z", "run")
    assert states(practice)["apt-1001/cl-2/final-30m/sms/r1"] == "pending"
    practice.ok("2026-11-23T20:00:00Z", "run")
    practice.ok("2026-11-24T19:30:00Z", "run")
    assert sorted(s["to"] for s in practice.sms() if "starts in" in s["body"]) == [
        "+16175550101",
        "+16175550102",
    ]


def test_a_session_moved_beyond_the_window_and_back_in_is_restored(practice):
    practice.ok(T0, "sync")
    practice.schedule(appointment(start="2026-12-29T15:00:00-05:00"))  # beyond 30 days
    practice.ok("2026-11-21T12:00:00Z", "sync")
    practice.ok("2026-12-05T12:00:00Z", "sync")  # now inside the window: read again
    assert practice.status("2026-12-05T12:00:00Z")["last_sync"]["counts"]["restored"] == 1
    practice.ok("2026-12-28T20:00:00Z", "run")
    assert practice.sms()[-1]["body"].startswith("Reminder: Dr. Chen session tomorrow at 3:00 PM")
