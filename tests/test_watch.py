"""`linkcli run --watch` in real time: wakes at the due send, stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

from tests.conftest import Practice, appointment


def test_watch_sends_within_two_seconds_and_stops_on_sigterm(practice: Practice):
    start = (datetime.now(UTC) + timedelta(hours=24, seconds=4)).replace(microsecond=0)
    practice.schedule(appointment(start=start.isoformat()))
    # Real time: quiet hours would hold the text at some hours of the day.
    practice.write_config(sms='provider = "outbox"\nquiet_hours = ""')
    env = {k: v for k, v in practice.env("unused").items() if k != "LINKCLI_NOW"}
    env["PATH"] = os.environ.get("PATH", "")
    proc = subprocess.Popen(
        [sys.executable, "-m", "linkcli", "run", "--watch", "-v"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(40, proc.kill)  # a hung watcher fails the test, not CI
    watchdog.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # blocks until the watcher reports its sends
            if line.startswith("dispatch: sent ") and not line.startswith("dispatch: sent 0"):
                break
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
    with sqlite3.connect(practice.db) as db:
        due, sent = db.execute(
            "select due_at, sent_at from sends where state = 'sent' and channel = 'sms'"
        ).fetchone()
    late = datetime.fromisoformat(sent.replace("Z", "+00:00")) - datetime.fromisoformat(
        due.replace("Z", "+00:00")
    )
    assert timedelta(0) <= late <= timedelta(seconds=2)
    assert len(practice.sms()) == 1


def test_watch_refuses_a_simulated_clock(practice: Practice):
    result = practice.cli("2026-11-20T12:00:00Z", "run", "--watch")
    assert result.exit_code == 2
    assert "--watch runs in real time; unset LINKCLI_NOW" in result.stderr
