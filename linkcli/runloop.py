"""The run loop: "sync if due, tolerate a failed sync, dispatch", once (`run`) or for as
long as the process lives (`run --watch`). One function does one pass for both, so the
two can never differ in how they treat a failed sync. Also `preview`'s look-ahead for a
store that never synced. Commands never import each other; this module composes them."""

from __future__ import annotations

import sqlite3
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from linkcli.answers import replies_wanted
from linkcli.commands.dispatch import DispatchResult, run_dispatch
from linkcli.commands.preview import build_preview
from linkcli.commands.sync import SyncResult, run_sync
from linkcli.context import Context
from linkcli.errors import ExitCode, LinkcliError, LockHeld
from linkcli.shared import sync_due
from linkcli.store import Store, parse_ts

MAX_NAP = timedelta(minutes=1)  # look again at least this often (a config edit, a retry)
REPLY_EVERY = timedelta(seconds=15)  # `--watch` reads replies this often near a session
LOCK_RETRY = timedelta(seconds=15)  # `--watch` after finding the store held by a cron run


@dataclass
class RunResult:
    """What one pass did: its sync (or why it failed), its dispatch, the next wake."""

    dispatch: DispatchResult = field(default_factory=DispatchResult)
    sync: SyncResult | None = None
    sync_error: LinkcliError | None = None
    wake_at: datetime | None = None
    lock_held: LockHeld | None = None

    @property
    def exit_code(self) -> ExitCode:
        """The sync's code when it failed (the dispatch went ahead regardless), else the
        dispatch's."""
        if self.lock_held is not None:
            return self.lock_held.exit_code
        if self.sync_error is not None:
            return self.sync_error.exit_code
        return self.dispatch.exit_code

    def counts(self) -> dict[str, Any]:
        """What `run --json` prints."""
        return {
            "sync": None if self.sync is None else self.sync.summary(),
            "sync_error": None if self.sync_error is None else self.sync_error.message,
            "dispatch": self.dispatch.counts(),
            "exit_code": int(self.exit_code),
        }


def run_once(
    ctx: Context,
    force: bool = False,
    stop: Callable[[], bool] | None = None,
) -> RunResult:
    """One pass of `run`, holding the store's lock."""
    with ctx.store() as store:
        return run_pass(ctx, store, force, stop)


def run_pass(
    ctx: Context,
    store: Store,
    force: bool = False,
    stop: Callable[[], bool] | None = None,
) -> RunResult:
    """Sync when due (or forced), then dispatch from the last good snapshot whatever
    became of the sync: a source that cannot be read, a refused listing or a bug in the
    sync never stops the links that are due."""
    result = RunResult()
    if force or sync_due(ctx, store):
        try:
            result.sync = run_sync(ctx, store, force=force)
        except LinkcliError as exc:
            result.sync_error = exc
        except Exception as exc:  # a bug in the sync: reported, and the links still go
            message = f"internal error in sync: {type(exc).__name__}: {exc}"
            result.sync_error = LinkcliError(message, ExitCode.INTERNAL)
            # Logged like any failed sync (its transaction rolled back), so `status` does
            # not show the previous sync as the last word.
            store.record_sync(ctx.now, ctx.now, ctx.config.source.kind, ok=False, error=message)
    result.dispatch = run_dispatch(ctx, store, stop=stop)
    next_send = store.next_due()
    last = store.last_sync()
    next_sync = parse_ts(last.finished_at) + ctx.config.sync.interval if last else ctx.now
    wake = min(ctx.now + MAX_NAP, next_sync)
    if next_send is not None and next_send > ctx.now:
        # A send already due that did not go is waiting for something a later pass will
        # see (a link fixed, a sync); MAX_NAP covers it without spinning.
        wake = min(wake, next_send)
    if replies_wanted(ctx.config, store, ctx.now):
        # A client asking for the link minutes before a session is answered within
        # seconds, not at the next minute.
        wake = min(wake, ctx.now + REPLY_EVERY)
    result.wake_at = max(wake, ctx.now)
    return result


def watch(
    make_context: Callable[[], Context],
    stop: threading.Event,
    report: Callable[[RunResult], None],
    wall_now: Callable[[], datetime],
) -> None:
    """Run passes until `stop` is set (SIGTERM); a send in progress always finishes. A
    pass that finds the store held by another run (a manual `sync`, a cron line left
    behind) waits for the next tick instead of ending the service."""
    while not stop.is_set():
        ctx = make_context()
        if ctx.env.get("LINKCLI_NOW"):
            raise LinkcliError("--watch runs in real time; unset LINKCLI_NOW", ExitCode.USAGE)
        try:
            done = run_once(ctx, stop=stop.is_set)
        except LockHeld as exc:
            done = RunResult(lock_held=exc, wake_at=ctx.now + LOCK_RETRY)
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            # Another program (a backup, an sqlite3 shell) holds the database: the pass
            # rolled back; like a held lock, the next tick tries again.
            busy = LockHeld(f"the database is busy ({exc}); nothing was changed")
            done = RunResult(lock_held=busy, wake_at=ctx.now + LOCK_RETRY)
        report(done)
        wake_at = done.wake_at or ctx.now
        stop.wait(max(0.0, (wake_at - wall_now()).total_seconds()))


def preview_ahead(
    ctx: Context, store: Store, days: int = 7, therapist: str | None = None
) -> list[dict[str, Any]]:
    """`preview`: a store that has never synced is previewed from a throw-away sync of
    the source, so a new install can look ahead before anything is written or sent."""
    if store.last_good_sync() is not None:
        return build_preview(ctx, store, days, therapist)
    with tempfile.TemporaryDirectory(prefix="linkcli-preview-") as tmp:
        scratch = Store.open(Path(tmp) / "preview.db")
        try:
            run_sync(ctx, scratch)
            return build_preview(ctx, scratch, days, therapist)
        finally:
            scratch.close()
