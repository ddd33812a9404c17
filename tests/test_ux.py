"""What a person sees: times in the practice's zone (never UTC ISO), people rather than
ids, tables that become stacked lists on a narrow terminal without cutting a time, link
or text, colour only on a terminal and never with NO_COLOR, help in the order a practice
meets the commands, "did you mean", and attention that clears itself."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ZOOM, appointment, client

SYNCED = "2026-11-22T15:00:00Z"
DUE = "2026-11-23T20:00:00Z"  # the 24 h reminder of the 15:00 EST session
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d|\+00:00")
BAD_LINK = "http://example.org/room"


def busy(practice) -> None:
    """Two sessions: Alex (texts and email), Sam Lee (chose email only), and a session
    whose link is refused: every screen has something to say."""
    practice.schedule(
        appointment(participants=[client(), client("cl-2", "Sam Lee", sms_opt_in=False)]),
        appointment("apt-2002", start="2026-11-25T10:00:00-05:00", link=BAD_LINK),
    )
    practice.ok(SYNCED, "sync")


HUMAN_COMMANDS = [
    ("status",),
    ("status", "--check"),
    ("preview", "--days", "7"),
    ("doctor",),
    ("explain", "apt-1001"),
    ("explain", "apt-2002"),
    ("sync", "-v"),
    ("dispatch", "-v"),
    ("run", "-v"),
    ("report",),
]


def test_no_human_screen_shows_a_utc_iso_instant(practice):
    busy(practice)
    practice.ok(DUE, "dispatch")
    for args in HUMAN_COMMANDS:
        result = practice.cli(DUE, *args)
        assert result.exit_code in (0, 1), (args, result.output)
        seen = result.stdout + result.stderr
        assert not ISO.search(seen), (args, ISO.search(seen), seen)
    # A text held by quiet hours (due 7:30 AM, they end at 8:00) and a stale snapshot.
    early = appointment("apt-3003", start="2026-11-25T07:30:00-05:00")
    practice.schedule(appointment(), early)
    held_at = "2026-11-24T12:30:00Z"
    practice.ok(held_at, "run")
    for now in (held_at, "2026-11-25T06:00:00Z"):
        for args in HUMAN_COMMANDS[:4] + [("explain", "apt-3003")]:
            result = practice.cli(now, *args)
            seen = result.stdout + result.stderr
            assert not ISO.search(seen), (now, args, ISO.search(seen), seen)
    assert "quiet hours" in practice.cli(held_at, "status").stdout
    # Machines keep ISO 8601.
    status = practice.status(DUE)
    assert status["now"] == "2026-11-23T20:00:00+00:00"
    assert status["timezone"] == "America/New_York"


def test_status_names_people_in_the_practice_zone_and_says_test_mode(practice):
    busy(practice)
    out = practice.ok(SYNCED, "status").stdout
    assert "Test mode: texts and email go to an outbox file, nothing reaches clients" in out
    assert "Next sends (times in America/New_York)" in out
    # The 24 h text of Tue 3:00 PM EST: Mon 3:00 PM, a day and a bit ahead.
    assert "Mon Nov 23, 3:00 PM · in 29 h" in out
    assert "Alex R." in out and "Dr. Chen" in out
    assert "Alex Rivera" not in out  # first name and last initial, nothing more
    upcoming = practice.status(SYNCED)["upcoming"][0]
    assert (upcoming["client"], upcoming["therapist"]) == ("Alex R.", "Dr. Chen")
    practice.ok(DUE, "run")
    after = practice.ok(DUE, "status").stdout
    by_therapist = after.split("By therapist (7 days)")[1].split("Needs attention")[0]
    assert "Dr. Chen" in by_therapist and "th-1" not in by_therapist  # the name, not the id


def test_a_clients_choice_is_not_attention_and_one_problem_is_one_row(practice):
    busy(practice)
    attention = practice.status(SYNCED)["attention"]
    assert [(a["kind"], a["appointment"]) for a in attention] == [("link", "apt-2002")]
    assert "Sam" not in json.dumps(attention)  # email only was their choice
    check = practice.cli(SYNCED, "status", "--check")
    assert check.exit_code == 1
    assert check.stderr.startswith(
        "linkcli: error: 1 item(s) need attention, first apt-2002: link refused: "
    )


def test_informational_items_expire_when_their_session_has_passed(practice):
    practice.ok(SYNCED, "sync")
    practice.ok(DUE, "run")
    practice.schedule(appointment(start="2026-11-24T17:00:00-05:00"))
    practice.ok("2026-11-24T14:00:00Z", "run")  # moved today, after the reminder
    kinds = [a["kind"] for a in practice.status("2026-11-24T14:00:00Z")["attention"]]
    assert kinds == ["moved_after_reminder"]
    after = "2026-11-25T14:00:00Z"  # the session is over
    practice.ok(after, "sync")
    assert practice.status(after)["attention"] == []
    assert practice.cli(after, "status", "--check").exit_code == 0


@pytest.mark.parametrize("columns", [80, 120])
def test_narrow_and_wide_terminals_never_cut_a_time_link_or_text(practice, columns):
    long_link = ZOOM + "&uname=" + "x" * 60
    practice.schedule(appointment(link=long_link))
    practice.ok(SYNCED, "sync")
    env = {**practice.env(SYNCED), "COLUMNS": str(columns)}
    status = practice.runner.invoke(__import__("linkcli.cli").cli.app, ["status"], env=env)
    assert status.exit_code == 0
    assert "Mon Nov 23, 3:00 PM · in 29 h" in status.stdout
    assert "…" not in status.stdout
    if columns < 100:
        assert "- due:" in status.stdout and "│" not in status.stdout  # a stacked list
    else:
        assert "┃" in status.stdout or "│" in status.stdout  # a table
    preview = practice.runner.invoke(__import__("linkcli.cli").cli.app, ["preview"], env=env)
    text = preview.stdout
    assert "…" not in text
    items = practice.preview(SYNCED)
    for item in items:
        for line in (item["body"] or "").splitlines():
            assert line in text  # every line of every message, whole
        if item["channel"] == "email":
            assert f"Subject: {item['subject']}" in text
    assert long_link in text  # the link, whole, in the text it goes in
    assert "for Alex R. to" in text and "with Dr. Chen" in text
    assert "Tue Nov 24, 2:30 PM EST · in 2 d" in text  # the 30 min text, the client's zone


def test_preview_shows_times_in_the_clients_own_zone(practice):
    practice.schedule(appointment(participants=[client(timezone="America/Chicago")]))
    practice.ok(SYNCED, "sync")
    out = practice.ok(SYNCED, "preview").stdout
    assert "Tue Nov 24, 1:30 PM CST · in 2 d  final-30m sms" in out


def test_explain_takes_a_short_id_or_a_name_and_a_day(practice):
    busy(practice)
    by_prefix = practice.ok(SYNCED, "explain", "apt-20", "--json")
    assert json.loads(by_prefix.stdout)["appointment"]["id"] == "apt-2002"
    ambiguous = practice.cli(SYNCED, "explain", "apt-")
    assert ambiguous.exit_code == 2 and "apt-1001, apt-2002" in ambiguous.stderr
    by_name = practice.ok(SYNCED, "explain", "sam lee", "--date", "2026-11-24", "--json")
    assert json.loads(by_name.stdout)["appointment"]["id"] == "apt-1001"
    twice = practice.cli(SYNCED, "explain", "Alex", "--date", "2026-11-24")
    assert twice.exit_code == 0  # one session that day with an Alex
    none = practice.cli(SYNCED, "explain", "Alex", "--date", "2026-11-26")
    assert none.exit_code == 2 and "no session on Thu Nov 26" in none.stderr


def test_help_is_ordered_plain_and_short(practice):
    from typer.testing import CliRunner

    from linkcli.cli import app

    runner = CliRunner()
    top = runner.invoke(app, ["-h"], env={"COLUMNS": "100"})
    assert top.exit_code == 0
    listed = re.findall(r"^  (\w+)  ", top.stdout.split("Commands:")[1], re.M)
    assert listed[:9] == [
        "demo",
        "init",
        "doctor",
        "preview",
        "status",
        "explain",
        "sync",
        "dispatch",
        "run",
    ]
    assert "linkcli demo  ->  linkcli init  ->  linkcli doctor" in top.stdout
    assert "..." not in top.stdout.split("Commands:")[1]  # summaries whole
    for command in ("preview", "init", "status", "explain", "doctor", "run"):
        text = runner.invoke(app, [command, "-h"]).stdout
        assert "<" not in text and "x>=" not in text and "<=x" not in text, (command, text)
    bad_days = runner.invoke(app, ["preview", "--days", "400"], env=practice.env(SYNCED))
    assert bad_days.exit_code == 2 and "from 0 to 366" in bad_days.output


def test_did_you_mean_for_commands_keys_and_kinds(practice):
    typo = practice.cli(SYNCED, "stauts")
    assert typo.exit_code == 2 and "did you mean 'status'?" in typo.output
    practice.config.write_text(
        practice.config.read_text()
        .replace("timezone =", "timezon =")
        .replace('kind = "file"', 'kind = "simplepractise"')
    )
    result = practice.cli(SYNCED, "sync")
    assert result.exit_code == 2
    doctor = json.loads(practice.cli(SYNCED, "doctor", "--json").stdout)
    detail = doctor["checks"][0]["detail"]
    assert "did you mean 'timezone'?" in detail
    assert "did you mean 'simplepractice'?" in detail


def _in_pty(args: list[str], env: dict[str, str], columns: int = 80) -> str:
    """Run linkcli on a pseudo-terminal `columns` wide; what the terminal received."""
    import fcntl
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "linkcli", *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
        close_fds=True,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=30)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def test_colour_and_width_on_a_real_terminal(practice):
    busy(practice)
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS")}
    env.update(practice.env(SYNCED), TERM="xterm-256color")
    coloured = _in_pty(["status"], env)
    assert "\x1b[" in coloured  # a terminal gets colour
    assert "- due:" in coloured  # 80 columns: a stacked list
    plain = _in_pty(["status"], {**env, "NO_COLOR": ""})  # any value, even empty
    assert "\x1b[" not in plain
    assert "Mon Nov 23, 3:00 PM" in plain


def test_no_color_flag(practice, tmp_path: Path):
    busy(practice)
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS")}
    env.update(practice.env(SYNCED), TERM="xterm-256color")
    assert "\x1b[" not in _in_pty(["--no-color", "status"], env, columns=120)


def test_an_unmatched_client_is_one_row_whose_fix_names_the_contacts_file(tmp_path):
    from typer.testing import CliRunner

    from linkcli.cli import app
    from tests.conftest import OUTBOX_CHANNELS, write_config

    (tmp_path / "chen.ics").write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//example//feed//EN\r\n"
        "BEGIN:VEVENT\r\nUID:ev-1\r\nDTSTAMP:20261120T100000Z\r\n"
        "DTSTART:20261124T200000Z\r\nDTEND:20261124T205000Z\r\n"
        "SUMMARY:Robin Quinn Appointment\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    (tmp_path / "contacts.csv").write_text(
        "client,name,email,mobile,channels,timezone\n"
        "cl-1,Alex Rivera,alex@example.org,+1 617 555 0101,both,\n"
    )
    config = write_config(
        tmp_path,
        """\
        [practice]
        name = "Riverside Therapy"
        timezone = "America/New_York"

        [source]
        kind = "simplepractice"
        feeds = [{ therapist = "th-1", url = "chen.ics" }]

        [contacts]
        path = "contacts.csv"

        [therapists."th-1"]
        name = "Maya Chen"
        display_name = "Dr. Chen"
        link = "https://us02web.zoom.us/j/85512345678"
        """,
        OUTBOX_CHANNELS,
    )
    env = {"LINKCLI_NOW": SYNCED, "LINKCLI_CONFIG": str(config)}
    runner = CliRunner()
    runner.invoke(app, ["sync"], env=env)
    attention = json.loads(runner.invoke(app, ["status", "--json"], env=env).stdout)["attention"]
    assert len(attention) == 1, attention
    assert "matches no contact" in attention[0]["reason"]
    assert attention[0]["fix"].startswith(f"add the client (name as in the calendar) to {tmp_path}")


def test_doctor_names_each_network_step_on_a_terminal_only(practice):
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS")}
    env.update(practice.env(SYNCED), TERM="xterm-256color")
    assert "reading the file source" in _in_pty(["doctor"], env, columns=120)
    piped = practice.cli(SYNCED, "doctor")  # not a terminal: cron mail stays clean
    assert "reading the file source" not in piped.stdout + piped.stderr
