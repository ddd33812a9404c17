"""`linkcli run --watch`: one long-lived process for systemd that syncs each interval and
wakes exactly at the next due send, so messages leave within a second or two of their
moment instead of within the next cron minute."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from linkcli.commands.dispatch import DispatchResult, run_dispatch
from linkcli.commands.sync import SyncResult, run_sync, sync_due
from linkcli.context import Context
from linkcli.errors import ExitCode, LinkcliError

MAX_NAP = timedelta(minutes=1)  # look again at least this often (a config edit, a retry)


@dataclass
class Cycle:
    """What one pass did, for the CLI to report."""

    sync: SyncResult | None
    sync_error: LinkcliError | None
    dispatch: DispatchResult
    wake_at: datetime


def cycle(ctx: Context, stop: threading.Event) -> Cycle:
    """One sync-if-due + dispatch pass, and when the next pass should start."""
    with ctx.store() as store:
        synced: SyncResult | None = None
        error: LinkcliError | None = None
        if sync_due(ctx, store):
            try:
                synced = run_sync(ctx, store)
            except LinkcliError as exc:
                if exc.exit_code is not ExitCode.SOURCE:
                    raise
                error = exc  # dispatch goes on from the last good snapshot
        result = run_dispatch(ctx, store, stop=stop.is_set)
        next_send = store.next_due()
        last = store.last_sync()
    from linkcli.store import parse_ts

    next_sync = parse_ts(last.finished_at) + ctx.config.sync.interval if last else ctx.now
    wake = min(ctx.now + MAX_NAP, next_sync)
    if next_send is not None:
        wake = min(wake, next_send)
    return Cycle(synced, error, result, max(wake, ctx.now))


def watch(
    make_context: Callable[[], Context],
    stop: threading.Event,
    report: Callable[[Cycle], None],
    wall_now: Callable[[], datetime],
) -> None:
    """Run cycles until `stop` is set (SIGTERM); a send in progress always finishes."""
    while not stop.is_set():
        ctx = make_context()
        if ctx.env.get("LINKCLI_NOW"):
            raise LinkcliError("--watch runs in real time; unset LINKCLI_NOW", ExitCode.USAGE)
        done = cycle(ctx, stop)
        report(done)
        stop.wait(max(0.0, (done.wake_at - wall_now()).total_seconds()))
