"""`linkcli demo` through the real CLI: a week of the synthetic practice, offline, with
its timeline and status; `--keep` leaves a practice folder the other commands can read."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from linkcli.cli import app
from linkcli.config import load_config

runner = CliRunner()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """One demo run shared by the tests (it plays a whole week)."""
    folder = tmp_path_factory.mktemp("demo") / "kept"
    # No config, no credentials: nothing of the caller's environment may matter.
    result = runner.invoke(
        app,
        ["demo", "--keep", str(folder)],
        env={
            "LINKCLI_CONFIG": "/nonexistent/config.toml",
            "LINKCLI_NOW": "2020-01-01T00:00:00Z",
            "TWILIO_ACCOUNT_SID": None,
            "TWILIO_AUTH_TOKEN": None,
        },
    )
    return result, folder


def test_demo_prints_a_timeline_and_the_status_screen(demo):
    result, _ = demo
    out = result.stdout
    assert result.exit_code == 0, result.output

    # Each group participant gets their own sequence.
    for participant in ("cl-quinn", "cl-rosa", "cl-sam"):
        assert re.search(rf"final-30m\s+apt-307 {participant}", out), participant
    # The same-day reschedule is shown, and the client hears the new time "today".
    assert "same-day reschedule: Mia's 10:00 AM session" in out
    assert "Reminder: Dr. Chen session today at 3:00 PM." in out
    # The rules of the field, visible in the timeline.
    # No mobile (Noah) or no consent to texts (Sky): the email-only sequence.
    for appointment, client in (("apt-103", "cl-noah"), ("apt-206", "cl-sky")):
        assert re.search(rf"email\s+reminder-24h\s+{appointment} {client}", out)
        assert not re.search(rf"sms\s+\S+\s+{appointment} {client}", out)
    assert "Canceled: your session with Dr. Okafor on Thursday, December 3" in out
    assert "Subject: Your session with Dr. Chen on Thursday, December 3" in out  # new booking
    assert "Reply STOP to opt out." in out  # the first text to a number
    assert "tomorrow at 8:00 AM" in out  # Alex lives in Chicago: his own local time
    # Then the status report it ends with.
    assert "Sends: pending 3," in out
    assert "Needs attention" in out and "apt-310" in out  # next Monday's personal room


def test_demo_output_never_shows_a_whole_phone_number(demo):
    result, _ = demo
    assert not re.search(r"\+?1?[\s-]*617[\s-]*555[\s-]*\d{4}", result.output)
    assert not re.search(r"\+1617555\d{4}", result.output)
    # Addresses are masked too: "a***@example.org", never "alex@example.org".
    assert "a***@example.org" in result.output
    assert not re.search(r"\b[a-z]{2,}@example\.org", result.output)


def test_keep_leaves_a_practice_the_other_commands_can_read(demo):
    result, folder = demo
    for name in (
        "config.toml",
        "appointments.json",
        "linkcli.db",
        "outbox-sms.jsonl",
        "outbox-email.jsonl",
    ):
        assert (folder / name).exists(), name
    config = load_config(folder / "config.toml", {})
    assert config.store_path == folder / "linkcli.db"
    assert f"LINKCLI_CONFIG={folder / 'config.toml'}" in result.stdout

    status = runner.invoke(
        app,
        ["status", "--json"],
        env={
            "LINKCLI_CONFIG": str(folder / "config.toml"),
            "LINKCLI_NOW": "2026-12-04T19:00:00-05:00",
        },
    )
    assert status.exit_code == 0, status.output
    report = json.loads(status.stdout)
    sms = [json.loads(line) for line in (folder / "outbox-sms.jsonl").read_text().splitlines()]
    assert report["sends"]["sent"] == len(sms) + len(
        (folder / "outbox-email.jsonl").read_text().splitlines()
    )


def test_keep_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["demo", "--keep", str(tmp_path)])

    assert result.exit_code == 2
    assert "is not empty" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
