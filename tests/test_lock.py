"""One run at a time, across real processes."""

from __future__ import annotations

import subprocess
import sys
import time

from tests.conftest import Practice

HOLDER = (
    "import sys\n"
    "from pathlib import Path\n"
    "from linkcli.lock import hold\n"
    "with hold(Path(sys.argv[1])):\n"
    "    print('held', flush=True)\n"
    "    sys.stdin.read()\n"  # holds the lock until the test closes our stdin
)


def linkcli(practice: Practice, now: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "linkcli", *args],
        env=practice.env(now),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_second_run_waits_briefly_then_exits_4(practice):
    practice.ok("2026-11-23T12:00:00Z", "sync")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(practice.db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        result = linkcli(practice, "2026-11-23T20:00:00Z", "dispatch")
        waited = time.monotonic() - started
    finally:
        holder.communicate("")
    assert result.returncode == 4
    assert result.stderr.startswith("linkcli: error: another linkcli run holds ")
    assert result.stderr.count("\n") == 1
    assert 2.5 < waited < 10
    assert practice.sms() == []


def test_a_killed_holder_never_leaves_the_store_locked(practice):
    practice.ok("2026-11-23T12:00:00Z", "sync")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(practice.db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait()
    result = linkcli(practice, "2026-11-23T20:00:00Z", "dispatch")
    assert result.returncode == 0, result.stderr
    assert len(practice.sms()) == 1
