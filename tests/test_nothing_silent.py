"""Nothing fails in silence (DESIGN.md): a message linkcli gives up on for a reason the
client did not choose is one stderr line naming the appointment and the reason, exit 1,
and an `attention` item until the session has passed; what the client chose, and a step
that was never due, make no noise."""

from __future__ import annotations

import json

from tests.conftest import Practice, appointment

T0 = "2026-11-20T12:00:00Z"
DUE_24H = "2026-11-23T20:00:00Z"
DUE_30M = "2026-11-24T19:30:00Z"
START = "2026-11-24T20:00:00Z"
OVER = "2026-11-24T21:00:00Z"  # the 50-minute session has ended
ROOM = "https://us02web.zoom.us/my/drchen"


def failed_items(practice: Practice, now: str) -> list[dict]:
    return [a for a in practice.status(now)["attention"] if a["kind"] == "failed_send"]


def test_a_refused_link_is_given_up_loudly_and_explained(practice: Practice):
    practice.schedule(appointment(link=ROOM))
    practice.ok(T0, "sync")
    waiting = practice.ok(DUE_24H, "run")  # it waits for a fixed link: attention says so
    assert waiting.stderr == "" and practice.sms() == [] and practice.emails() == []

    late = practice.cli(DUE_30M, "run")
    assert late.exit_code == 1
    assert late.stderr == (
        "linkcli: error: 1 send(s) failed: reminder-24h sms for apt-1001 given up: link "
        "refused: link looks like a personal meeting room (matches [links] "
        "reject_patterns: ^https://([a-z0-9-]+\\.)*(zoom\\.us|zoomgov\\.com)/my/)\n"
    )
    # The 24 h email's window runs to the start: it still waits for the link.
    explained = json.loads(practice.ok(DUE_30M, "explain", "apt-1001", "--json").stdout)
    by_step = {(s["step"], s["channel"]): s for s in explained["participants"][0]["steps"]}
    gave_up = by_step[("reminder-24h", "sms")]
    assert gave_up["state"] == "failed"
    assert gave_up["reason"].startswith("gave up: link refused:")
    assert "retention" not in gave_up["reason"]  # never sent: its text is shown as it was
    assert gave_up["body"].startswith("Reminder: Dr. Chen session tomorrow at 3:00 PM.")
    assert "too late" not in json.dumps(explained)
    assert by_step[("final-30m", "sms")]["reason"].startswith("waits: link refused:")

    [item] = failed_items(practice, DUE_30M)
    assert item["appointment"] == "apt-1001" and "link refused" in item["reason"]

    at_start = practice.cli(START, "run")  # the rest is given up the same way
    assert at_start.exit_code == 1
    assert at_start.stderr.startswith("linkcli: error: 2 send(s) failed: ")
    assert "(and 1 more; see `linkcli status`)" in at_start.stderr
    assert at_start.stderr.count("\n") == 1
    assert len(failed_items(practice, START)) == 3
    # Once the session has passed, the items leave `attention` (the counts keep them).
    assert failed_items(practice, OVER) == []
    assert practice.status(OVER)["sends"]["failed"] == 3
    assert practice.ok(OVER, "run").stderr == ""  # said once: nothing new to say


def test_a_stale_snapshot_is_given_up_loudly(practice: Practice):
    practice.ok("2026-11-23T06:00:00Z", "sync")
    practice.schedule()  # stands for a schedule that can no longer be read ...
    (practice.root / "appointments.json").write_text("{broken")  # ... like this
    held = practice.ok(DUE_24H, "dispatch")  # 14 h since the last good sync
    assert held.stderr == (
        "linkcli: warning: 2 message(s) wait: the last good sync is too old "
        "(see `linkcli status`)\n"
    )
    late = practice.cli(DUE_30M, "dispatch")
    assert late.exit_code == 1
    assert late.stderr.startswith(
        "linkcli: error: 1 send(s) failed: reminder-24h sms for apt-1001 given up: the "
        "snapshot is too old (no successful sync for 37 h)"
    )


def test_run_with_a_broken_source_still_gives_up_and_exits_with_the_syncs_code(
    practice: Practice,
):
    practice.ok("2026-11-23T06:00:00Z", "sync")
    (practice.root / "appointments.json").write_text("{broken")
    late = practice.cli(DUE_30M, "run")
    assert late.exit_code == 3  # the sync's code: the source is the thing to fix
    lines = late.stderr.splitlines()
    assert lines[0].startswith("linkcli: error: 1 send(s) failed: reminder-24h sms for apt-1001")
    assert lines[-1].startswith("linkcli: error: ") and "appointments.json" in lines[-1]


def test_a_session_booked_20_minutes_ahead_gets_its_final_text_quietly(practice: Practice):
    practice.schedule()
    practice.ok(T0, "sync")
    practice.schedule(appointment(id="apt-1002", start="2026-11-24T15:40:00-05:00"))
    booked = practice.ok("2026-11-24T20:20:00Z", "run")  # 20 min before it starts
    assert booked.stderr == ""
    assert [s["key"] for s in practice.sms()] == ["apt-1002/cl-1/final-30m/sms/r1"]
    assert [e["key"] for e in practice.emails()] == ["apt-1002/cl-1/confirmation/email/r1"]
    sends = practice.status("2026-11-24T20:20:00Z")["sends"]
    assert (sends["sent"], sends["failed"], sends["skipped"]) == (2, 0, 0)


def test_a_moved_session_whose_24h_window_had_closed_is_quiet(practice: Practice):
    practice.ok(T0, "sync")
    practice.ok(DUE_24H, "run")  # the 24 h messages go
    practice.schedule(appointment(start="2026-11-24T16:00:00-05:00"))  # moved an hour
    moved = practice.ok("2026-11-24T13:00:00Z", "run")
    assert moved.stderr == ""
    assert practice.status("2026-11-24T13:00:00Z")["sends"]["failed"] == 0


def test_an_email_only_client_makes_no_noise(practice: Practice):
    from tests.conftest import client

    practice.schedule(appointment(participants=[client(mobile=None)]))
    practice.ok(T0, "sync")
    assert practice.ok(DUE_24H, "run").stderr == ""
    assert practice.ok(START, "run").stderr == ""
    assert practice.sms() == [] and len(practice.emails()) == 1
