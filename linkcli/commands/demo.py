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
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from linkcli import demo_data
from linkcli.commands.dispatch import run_dispatch
from linkcli.commands.status import build_status, iso, mask
from linkcli.commands.sync import run_sync
from linkcli.context import Context
from linkcli.errors import ExitCode, LinkcliError
from linkcli.store import parse_ts, ts

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
    sessions: int
    timeline: list[dict[str, Any]] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=dict)
    kept: Path | None = None


def run_demo(env: Mapping[str, str], keep: Path | None = None) -> DemoResult:
    """Play the demo week; with `keep`, leave config, database and outboxes there."""
    with _folder(keep) as folder:
        result = _play(folder, env)
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
        raise LinkcliError(f"--keep {keep} is a file; name a new or empty folder",
                           ExitCode.USAGE)
    if keep.is_dir() and any(keep.iterdir()):
        raise LinkcliError(f"--keep {keep} is not empty; the demo writes only into a new or "
                           "empty folder (nothing was changed)", ExitCode.USAGE)
    try:
        keep.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LinkcliError(f"cannot create {keep}: {exc.strerror}", ExitCode.USAGE) from None
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


def _play(folder: Path, env: Mapping[str, str]) -> DemoResult:
    config_path = folder / CONFIG_NAME
    schedule_path = folder / SCHEDULE_NAME
    fd = os.open(config_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(demo_data.config_toml())
    records = demo_data.initial_schedule()
    _write_schedule(schedule_path, records)

    timeline: list[dict[str, Any]] = []
    pending_events = list(demo_data.EVENTS)
    now = demo_data.START
    ticks = 0
    first = True
    while now <= demo_data.END:
        ticks += 1
        due_events = [e for e in pending_events if e.at <= now]
        for event in due_events:
            event.apply(records)
            pending_events.remove(event)
        if due_events:
            _write_schedule(schedule_path, records)
        ctx = _context(env, config_path, now)
        with ctx.store() as store:
            synced = run_sync(ctx, store)
            if first:
                live = sum(1 for r in records if r["format"] == "telehealth")
                timeline.append(_line(now, "sync", text=(
                    f"first sync: {synced.counts['listed']} sessions listed ({live} telehealth); "
                    "adopted without booking confirmations (booked before linkcli), "
                    f"{synced.planned} messages planned")))
                first = False
            for event in due_events:
                seen = ", ".join(f"{k} {v}" for k, v in synced.counts.items()
                                 if v and k in ("created", "rescheduled", "canceled", "updated"))
                timeline.append(_line(now, "change", appointment=event.appointment_id,
                                      text=event.description,
                                      reason=f"edited {_clock(event.at)}; this sync saw: "
                                      f"{seen or 'no change'}"))
            run_dispatch(ctx, store)
        now += demo_data.TICK

    end = now - demo_data.TICK
    ctx = _context(env, config_path, end)
    with ctx.store(locked=False) as store:
        rows = store.query(
            "select * from sends where state not in ('pending', 'canceled') "
            "order by coalesce(sent_at, updated_at), id"
        )
        status = build_status(ctx, store)
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
        sessions=len(records),
        timeline=timeline,
        status=status,
    )


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


def _message(row: dict[str, Any]) -> dict[str, Any]:
    """A send as the timeline shows it: SMS text whole, email by subject."""
    when = parse_ts(row["sent_at"] or row["updated_at"])
    kind = {"sent": "message", "delivered": "message"}.get(row["state"], row["state"])
    text = row["body"] if row["channel"] == "sms" else row["subject"]
    return _line(
        when, kind, channel=row["channel"], to=mask(row["channel"], row["recipient"]),
        step=row["step"], appointment=row["appointment_id"], participant=row["participant_id"],
        text=text, reason=row["reason"] if kind != "message" else None,
    )
