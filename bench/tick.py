"""Cron tick: `linkcli dispatch` with nothing due, on a store holding 10,000 appointments.

Builds the store once (sync at the anchor, then one dispatch at the anchor that sends
whatever was already due through the outbox channels), picks a LINKCLI_NOW a little later
at which no pending send is due, checks that it is indeed nothing-due, and then times
fresh `linkcli dispatch` processes against the baseline

    python -c "import typer, rich.console, sqlite_utils, pendulum"

run by the same interpreter. Target: median <= 1.5x baseline. It also reports whether
twilio, httpx or icalendar were imported during the tick, and (--importtime) the most
expensive imports according to `python -X importtime`.

    /work/venv/bin/python bench/tick.py [-n 5] [--appointments 10000] [--importtime]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import _common as c
import gen

BASELINE = "import typer, rich.console, sqlite_utils, pendulum"
HEAVY = ("twilio", "httpx", "icalendar")
TARGET = 1.5

# Runs the real entry point with argv set, then lists the heavy packages it imported.
IMPORT_PROBE = f"""
import json
import sys
sys.argv = ["linkcli", "dispatch"]
from linkcli.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {set(HEAVY)!r})
print("LOADED " + json.dumps({{"exit": code, "modules": heavy}}))
"""


def iso(moment: datetime) -> str:
    """LINKCLI_NOW text for an instant."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_config(work: Path, listing: Path) -> Path:
    """A file-source, outbox-only config in `work`."""
    config = work / "tick.toml"
    config.write_text(
        f'[store]\npath = "tick.db"\n\n[source]\nkind = "file"\npath = "{listing}"\n\n'
        # quiet_hours off: the bench times the machinery, not the policy (a held text
        # would leave work for the "nothing due" tick).
        '[sms]\nprovider = "outbox"\noutbox_path = "outbox-sms.jsonl"\nquiet_hours = ""\n\n'
        '[email]\nprovider = "outbox"\noutbox_path = "outbox-email.jsonl"\n',
        encoding="utf-8",
    )
    return config


def env_at(config: Path, now: datetime) -> dict[str, str]:
    """The environment of one linkcli run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "LINKCLI_"))}
    env.update(LINKCLI_CONFIG=str(config), LINKCLI_NOW=iso(now))
    return env


def pending_due(db: Path, now: datetime) -> tuple[int, str | None]:
    """(pending sends due at `now`, the next due_at after it) read straight from SQLite."""
    stamp = iso(now)
    with sqlite3.connect(db) as conn:
        due = conn.execute(
            "select count(*) from sends where state = 'pending' and due_at <= ?", [stamp]
        ).fetchone()[0]
        nxt = conn.execute(
            "select min(due_at) from sends where state = 'pending' and due_at > ?", [stamp]
        ).fetchone()[0]
    return due, nxt


def build_store(work: Path, n: int, exe: str) -> tuple[Path, datetime]:
    """Sync `n` appointments, drain what is due at the anchor; return (config, tick NOW)."""
    listing, _ = gen.ensure_pair(n, work)
    config = write_config(work, listing)
    c.remove_db(work / "tick.db")
    anchor = gen.ANCHOR
    for cmd in ("sync", "dispatch"):
        run = c.run_once([exe, cmd, "-v"], env_at(config, anchor))
        if run.returncode:
            raise SystemExit(f"setup `linkcli {cmd}` failed: {run.stderr.strip()}")
        said = (run.stdout + run.stderr).strip().splitlines()
        print(
            f"  setup {cmd} at {iso(anchor)}: {said[-1] if said else '(silent)'} "
            f"({c.fmt_s(run.seconds)})"
        )
    left, nxt = pending_due(work / "tick.db", anchor)
    if left or nxt is None:
        raise SystemExit(f"setup: {left} send(s) still due at the anchor; next {nxt}")
    next_due = datetime.strptime(nxt, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    tick = min(anchor + timedelta(minutes=1), anchor + (next_due - anchor) / 2)
    tick = tick.replace(microsecond=0)
    due, _ = pending_due(work / "tick.db", tick)
    with sqlite3.connect(work / "tick.db") as conn:
        appointments = conn.execute("select count(*) from appointments").fetchone()[0]
        states = dict(conn.execute("select state, count(*) from sends group by state"))
    print(f"  store: {appointments} appointments, sends by state {states}")
    print(f"  tick LINKCLI_NOW={iso(tick)}: {due} pending send(s) due (next due {nxt})")
    if due:
        raise SystemExit("the chosen tick is not nothing-due")
    return config, tick


def check_nothing_due(run: c.Run) -> None:
    """A verbose tick must report that it did nothing."""
    if not re.search(r"sent 0, failed 0, retrying 0, skipped 0, canceled 0, waiting 0", run.stdout):
        raise SystemExit(f"the tick did something: {(run.stdout + run.stderr).strip()}")


def heavy_imports(env: dict[str, str]) -> dict[str, object]:
    """Which of twilio/httpx/icalendar a nothing-due dispatch imports."""
    run = c.run_once([sys.executable, "-c", IMPORT_PROBE], env)
    for line in run.stdout.splitlines():
        if line.startswith("LOADED "):
            return dict(json.loads(line[len("LOADED ") :]))
    raise SystemExit(f"import probe failed: {run.stderr.strip()[-1000:]}")


def import_profile(env: dict[str, str], top: int = 15) -> list[tuple[int, int, str]]:
    """(cumulative us, self us, module) of the slowest imports of one tick."""
    run = c.run_once([sys.executable, "-X", "importtime", "-c", IMPORT_PROBE], env)
    rows: list[tuple[int, int, str]] = []
    for line in run.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (.*)$", line)
        if m:
            rows.append((int(m.group(2)), int(m.group(1)), m.group(3).rstrip()))
    rows.sort(reverse=True)
    return rows[:top]


def main() -> None:
    """Build the store, check the tick is nothing-due, time it against the baseline."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=5, help="timed runs per command")
    parser.add_argument("--appointments", type=int, default=10_000)
    parser.add_argument(
        "--work", type=Path, help="work folder, kept (default: a temporary one, removed after)"
    )
    parser.add_argument("--linkcli", help="path of the linkcli console script")
    parser.add_argument(
        "--importtime", action="store_true", help="also print the 15 slowest imports of one tick"
    )
    args = parser.parse_args()
    exe = c.linkcli_exe(args.linkcli)
    work = c.work_folder(args.work, "linkcli-tick-")
    print(c.machine())
    print(f"work folder: {work}")
    config, tick = build_store(work, args.appointments, exe)
    env = env_at(config, tick)

    print(f"  before: {c.load()}")
    tick_series, base_series = c.measure_all(
        [
            c.Spec(
                "linkcli dispatch (nothing due)",
                [exe, "dispatch", "-v"],
                env,
                check=check_nothing_due,
            ),
            c.Spec("baseline: python -c import ...", [sys.executable, "-c", BASELINE], env),
        ],
        args.runs,
    )
    print(f"  after: {c.load()}")
    ratio = tick_series.median / base_series.median
    print(
        f"\nresults ({args.runs} runs after 1 warm-up, "
        f"{args.appointments} appointments in the store):"
    )
    c.print_series(tick_series)
    c.print_series(base_series)
    cpu_ratio = tick_series.cpu_median / base_series.cpu_median
    print(
        f"  ratio {ratio:.2f}x (target <= {TARGET}x): {c.verdict(ratio <= TARGET)}; "
        f"CPU-time ratio {cpu_ratio:.2f}x"
    )
    loaded = heavy_imports(env)
    print(
        f"  heavy modules imported by the tick: {json.dumps(loaded['modules'])} "
        f"({len(loaded['modules'])} modules; exit {loaded['exit']})"
    )
    if args.importtime:
        print("\nslowest imports of one tick (python -X importtime; cumulative us, self us):")
        for cumulative, self_us, name in import_profile(env):
            print(f"  {cumulative:>8} {self_us:>8}  {name}")


if __name__ == "__main__":
    main()
