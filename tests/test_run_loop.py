"""The run loop shared by `run` and `run --watch`, and the counts `sync`, `dispatch` and
`run` print with `--json` for machines."""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime

from linkcli import lock
from linkcli.context import Context
from linkcli.runloop import RunResult, watch
from tests.conftest import Practice

T0 = "2026-11-20T12:00:00Z"
DUE_24H = "2026-11-23T20:00:00Z"
SYNCED = "2026-11-23T19:00:00Z"  # a fresh snapshot when the 24 h messages are due

SYNC_KEYS = {
    "adopted",
    "canceled",
    "created",
    "listed",
    "planned",
    "problems",
    "rescheduled",
    "restored",
    "unchanged",
    "updated",
}
DISPATCH = {
    "sent": 0,
    "failed": 0,
    "given_up": 0,
    "retrying": 0,
    "skipped": 0,
    "canceled": 0,
    "waiting": 0,
}


def test_sync_json_prints_its_counts(practice: Practice):
    counts = json.loads(practice.ok(T0, "sync", "--json").stdout)
    assert set(counts) == SYNC_KEYS
    assert (counts["created"], counts["listed"], counts["planned"], counts["adopted"]) == (
        1,
        1,
        3,
        True,
    )
    again = json.loads(practice.ok("2026-11-20T12:15:00Z", "sync", "--json").stdout)
    assert set(again) == SYNC_KEYS  # every key, zeros included
    assert (again["created"], again["unchanged"], again["planned"]) == (0, 1, 0)


def test_dispatch_json_prints_every_count(practice: Practice):
    practice.ok(SYNCED, "sync")
    assert json.loads(practice.ok(SYNCED, "dispatch", "--json").stdout) == DISPATCH
    sent = json.loads(practice.ok(DUE_24H, "dispatch", "--json").stdout)
    assert sent == {**DISPATCH, "sent": 2}


def test_run_json_carries_the_sync_and_the_dispatch(practice: Practice):
    practice.ok(T0, "sync")
    report = json.loads(practice.ok(DUE_24H, "run", "--json").stdout)
    assert report["dispatch"] == {**DISPATCH, "sent": 2}
    assert set(report["sync"]) == SYNC_KEYS
    assert (report["sync_error"], report["exit_code"]) == (None, 0)


def test_run_json_with_a_failed_sync_still_dispatches(practice: Practice):
    practice.ok(SYNCED, "sync")
    (practice.root / "appointments.json").write_text("{broken")
    result = practice.cli(DUE_24H, "run", "--json")
    assert result.exit_code == 3
    report = json.loads(result.stdout)
    assert report["sync"] is None and "appointments.json" in report["sync_error"]
    assert report["dispatch"] == {**DISPATCH, "sent": 2}  # from the last good snapshot
    assert report["exit_code"] == 3
    assert result.stderr.count("\n") == 1


def test_a_record_that_breaks_the_sync_does_not_stop_the_links(practice: Practice):
    from tests.conftest import appointment

    practice.ok(SYNCED, "sync")
    # An out-of-range date: whether the sync reports it as one bad record or fails on it
    # as a bug (exit 5, one line), the texts that are due still go.
    practice.schedule(
        appointment(), appointment(id="apt-2", updated_at="9999-12-31T23:00:00-05:00")
    )
    result = practice.cli(DUE_24H, "run")
    assert len(practice.sms()) == 1 and len(practice.emails()) == 1
    assert result.exit_code in (0, 5)
    if result.exit_code == 5:
        assert result.stderr.startswith("linkcli: error: internal error in sync: ")
        assert result.stderr.count("\n") == 1
        last = practice.status(DUE_24H)["last_sync"]
        assert last["ok"] is False and last["error"].startswith("internal error in sync: ")


def test_watch_waits_out_a_lock_held_by_another_run(practice: Practice):
    """`run --watch` (systemd) must not end because a cron `sync` held the store for a
    few seconds: it reports the held lock and tries again at the next tick."""
    env = {k: v for k, v in practice.env("unused").items() if k != "LINKCLI_NOW"}
    env["PATH"] = os.environ.get("PATH", "")
    stop = threading.Event()
    seen: list[RunResult] = []

    def report(done: RunResult) -> None:
        seen.append(done)
        stop.set()  # one pass is enough to know it did not raise

    with lock.hold(practice.db, wait=0):
        watch(
            lambda: Context.create(env, practice.config),
            stop,
            report,
            lambda: datetime.now(UTC),
        )
    [held] = seen
    assert held.lock_held is not None and int(held.exit_code) == 4
    assert held.wake_at is not None
