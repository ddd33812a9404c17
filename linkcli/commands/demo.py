"""`linkcli demo`: a synthetic practice's week through the real sync and dispatch.

No config, no network, no credentials: the demo writes its own config (the `file` source
and both `outbox` channels) into a scratch folder, then plays cron for a week, one tick
every 15 minutes, with `LINKCLI_NOW` set to the tick. Each tick is a real `sync` and a
real `dispatch` on a fresh run context, exactly what `* * * * * linkcli run` would do,
so what the demo prints is what the product does, not a mock-up of it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from linkcli import demo_data
from linkcli.context import Context
from linkcli.errors import LinkcliError, UsageError
from linkcli.runloop import run_pass
from linkcli.shared import iso, mask
from linkcli.store import SendRow, Store, parse_ts, ts

CONFIG_NAME = "config.toml"
SCHEDULE_NAME = "appointments.json"


@dataclass
class DemoResult:
    """What the demo week did: a timeline of every message and change, and the status."""

    practice: str
    timezone: str
    start: str
    end: str
    ticks: int
    runs: int
    sessions: int
    timeline: list[dict[str, Any]] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=dict)
    kept: Path | None = None


# What the demo shows at the end of its week: `status`'s own screen, handed in by the CLI
# so that no command module imports another.
Describe = Callable[[Context, Store], dict[str, Any]]


def run_demo(env: Mapping[str, str], describe: Describe, keep: Path | None = None) -> DemoResult:
    """Play the demo week, then `describe` the store as `status` would; with `keep`,
    leave config, database and outboxes there."""
    with _folder(keep) as folder:
        result = _play(folder, env, describe)
    result.kept = keep.resolve() if keep else None
    return result


@contextmanager
def _folder(keep: Path | None) -> Iterator[Path]:
    """A throw-away folder, or `keep` when it is new or empty (never clobbered)."""
    if keep is None:
        with tempfile.TemporaryDirectory(prefix="linkcli-demo-") as tmp:
            yield Path(tmp)
        return
    keep = keep.expanduser()
    if keep.exists() and not keep.is_dir():
        raise UsageError(f"--keep {keep} is a file; name a new or empty folder")
    if keep.is_dir() and any(keep.iterdir()):
        raise UsageError(
            f"--keep {keep} is not empty; the demo writes only into a new or "
            "empty folder (nothing was changed)"
        )
    try:
        keep.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {keep}: {exc.strerror}") from None
    yield keep


def _write_schedule(path: Path, records: list[dict[str, Any]]) -> None:
    # Replace rather than rewrite in place, as a scheduling export would: a sync never
    # sees half a file.
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"appointments": records}, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def _context(env: Mapping[str, str], config_path: Path, now: datetime) -> Context:
    """A fresh run context per tick, as each cron run builds its own."""
    tick_env = {**env, "LINKCLI_NOW": now.isoformat(), "LINKCLI_CONFIG": str(config_path)}
    return Context.create(tick_env, config_path)


def _play(folder: Path, env: Mapping[str, str], describe: Describe) -> DemoResult:
    config_path = folder / CONFIG_NAME
    schedule_path = folder / SCHEDULE_NAME
    fd = os.open(config_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(demo_data.config_toml())
    records = demo_data.initial_schedule()
    _write_schedule(schedule_path, records)

    timeline: list[dict[str, Any]] = []
    pending_events = list(demo_data.EVENTS)
    ticks = _tick_count()
    runs = 0
    tick: int | None = 0
    # One store (and one hold of its lock) for the whole week: opening and closing it
    # per tick costs a WAL checkpoint each time and tells the reader nothing.
    with _context(env, config_path, demo_data.START).store() as store:
        while tick is not None:
            now = demo_data.START + tick * demo_data.TICK
            runs += 1
            due_events = [e for e in pending_events if e.at <= now]
            for event in due_events:
                event.apply(records)
                pending_events.remove(event)
            if due_events:
                _write_schedule(schedule_path, records)
            # A fresh context per tick, as each cron run builds its own.
            ctx = _context(env, config_path, now)
            # The real run loop, as `* * * * * linkcli run` would do each minute.
            passed = run_pass(ctx, store)
            if passed.sync_error is not None or passed.sync is None:
                raise passed.sync_error or LinkcliError("the demo's sync did not run")
            synced = passed.sync
            if tick == 0:
                live = sum(1 for r in records if r["format"] == "telehealth")
                timeline.append(
                    _line(
                        now,
                        "sync",
                        text=(
                            f"first sync: {synced.counts['listed']} sessions listed "
                            f"({live} telehealth); "
                            "adopted without booking confirmations (booked before linkcli), "
                            f"{synced.planned} messages planned"
                        ),
                    )
                )
            for event in due_events:
                seen = ", ".join(
                    f"{k} {v}"
                    for k, v in synced.counts.items()
                    if v and k in ("created", "rescheduled", "canceled", "updated")
                )
                timeline.append(
                    _line(
                        now,
                        "change",
                        appointment=event.appointment_id,
                        text=event.description,
                        reason=f"edited {_clock(event.at)}; this sync saw: {seen or 'no change'}",
                    )
                )
            due = store.next_due()
            next_due = ts(due) if due else None
            tick = _next_tick(tick, next_due, pending_events, ticks)

    end = demo_data.START + (ticks - 1) * demo_data.TICK
    ctx = _context(env, config_path, end)
    with ctx.store(locked=False) as store:
        rows = store.history()
        status = describe(ctx, store)
    timeline += [_message(row) for row in rows]
    # Changes and syncs happen before the dispatch of the same tick; stable otherwise.
    order = {"sync": 0, "change": 1}
    timeline.sort(key=lambda item: (item["time"], order.get(item["kind"], 2)))
    return DemoResult(
        practice=demo_data.PRACTICE_NAME,
        timezone=demo_data.ZONE_NAME,
        start=demo_data.START.isoformat(),
        end=end.isoformat(),
        ticks=ticks,
        runs=runs,
        sessions=len(records),
        timeline=timeline,
        status=status,
    )


def _tick_count() -> int:
    """How many 15-minute cron ticks the demo week spans, both ends included."""
    return (demo_data.END - demo_data.START) // demo_data.TICK + 1


def _tick_at_or_after(moment: datetime) -> int:
    """The first tick at or after `moment`."""
    elapsed = moment - demo_data.START
    return max(0, -(-elapsed // demo_data.TICK))


def _next_tick(tick: int, next_due: str | None, events: list[Any], ticks: int) -> int | None:
    """The next tick at which a cron run would do anything, else the last tick, else None.

    A quiet tick (no schedule change, nothing due) is fast-forwarded: its sync would find
    nothing new and its dispatch nothing to send, and running ~500 of them would make the
    demo slow without changing a single message. Every tick that matters runs a real sync
    and then a real dispatch, so the snapshot is always fresh when something is sent.
    """
    last = ticks - 1
    if tick >= last:
        return None
    candidates = [last]
    if next_due:
        candidates.append(_tick_at_or_after(parse_ts(next_due)))
    candidates += [_tick_at_or_after(e.at) for e in events]
    return max(tick + 1, min(candidates))


def _clock(moment: datetime) -> str:
    return moment.astimezone(demo_data.ZONE).strftime("%H:%M")


def _line(moment: datetime, kind: str, **fields: Any) -> dict[str, Any]:
    """One timeline entry; times in the practice's zone for reading, UTC for sorting."""
    local = moment.astimezone(demo_data.ZONE)
    entry: dict[str, Any] = {
        "time": iso(ts(moment)),
        "day": f"{local:%a %b} {local.day}",
        "clock": f"{local:%H:%M}",
        "kind": kind,
        "channel": None,
        "to": None,
        "step": None,
        "appointment": None,
        "participant": None,
        "text": None,
        "reason": None,
    }
    entry.update(fields)
    return entry


def _message(row: SendRow) -> dict[str, Any]:
    """A send as the timeline shows it: SMS text whole, email by subject."""
    when = parse_ts(row.sent_at or row.updated_at)
    kind = {"sent": "message", "delivered": "message"}.get(row.state, row.state)
    text = row.body if row.channel == "sms" else row.subject
    return _line(
        when,
        kind,
        channel=row.channel,
        to=mask(row.channel, row.recipient),
        step=row.step,
        appointment=row.appointment_id,
        participant=row.participant_id,
        text=text,
        reason=row.reason if kind != "message" else None,
    )
