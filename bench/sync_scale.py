"""Sync at scale: `linkcli sync` from file sources of 1,000 / 10,000 / 100,000 appointments.

For each size, three fresh-process scenarios:

* first sync      - a new store adopts the whole listing (and plans every reminder);
* no-change       - resync of the same listing 15 minutes later (the common cron case);
* 1%-changed      - resync of a listing where 1% moved or got a new link.

Baseline (same interpreter, same file): a script that json-loads the listing and inserts
rows (id, start, data json) into a fresh SQLite table with `executemany` in one
transaction (WAL, synchronous=NORMAL, as linkcli's store). Runs are interleaved.

Targets: no-change resync of 10,000 <= 3x baseline; each scenario at 100,000 <= 12x the
same scenario at 10,000; peak RSS at 100,000 reported.

    /work/venv/bin/python bench/sync_scale.py [--sizes 1000,10000] [-n 5] [--big-runs 3]
        [--profile]   # cProfile (top lines by cumtime) of the largest size's syncs
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import _common as c
import gen

BASELINE_SCRIPT = '''"""Baseline: json-load a listing, bulk-insert (id, start, data) rows."""
import json
import sqlite3
import sys

records = json.load(open(sys.argv[1], encoding="utf-8"))
if isinstance(records, dict):
    records = records["appointments"]
conn = sqlite3.connect(sys.argv[2], isolation_level=None)
conn.execute("PRAGMA journal_mode=WAL")
conn.execute("PRAGMA synchronous=NORMAL")
conn.execute("create table appointments (id text primary key, start text, data text)")
conn.execute("begin")
conn.executemany(
    "insert into appointments (id, start, data) values (?, ?, ?)",
    ((r["id"], r["start"], json.dumps(r, sort_keys=True)) for r in records),
)
conn.execute("commit")
conn.close()
'''

SCENARIOS = ("first sync", "no-change resync", "1%-changed resync")
TARGET_VS_BASELINE = 3.0  # no-change resync of 10,000
TARGET_SCALING = 12.0  # 100,000 vs 10,000
BIG = 100_000


def iso(moment: datetime) -> str:
    """LINKCLI_NOW text for an instant."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_config(path: Path, store: str, listing: Path) -> Path:
    """A file-source, outbox-only config."""
    path.write_text(
        f'[store]\npath = "{store}"\n\n[source]\nkind = "file"\npath = "{listing}"\n\n'
        '[sms]\nprovider = "outbox"\n\n[email]\nprovider = "outbox"\n',
        encoding="utf-8",
    )
    return path


def env_for(config: Path, now: datetime) -> dict[str, str]:
    """The environment of one linkcli run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "LINKCLI_"))}
    env.update(LINKCLI_CONFIG=str(config), LINKCLI_NOW=iso(now))
    return env


def counts(run: c.Run) -> dict[str, int]:
    """The counts of a `sync -v` line."""
    return {k: int(v) for k, v in re.findall(r"(\w+) (\d+)", run.stdout.split(";")[0])}


def expect(label: str, got: dict[str, int], **want: int) -> None:
    """Stop when a sync did not do what the scenario expects."""
    wrong = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
    if wrong:
        raise SystemExit(f"{label}: unexpected counts {wrong} (all: {got})")


def bench_size(size: int, runs: int, work: Path, exe: str) -> list[c.Series]:
    """Measure the three scenarios and the baseline for one listing size."""
    listing, changed = gen.ensure_pair(size, work)
    store = work / f"sync-{size}.db"
    template = work / f"sync-{size}.template.db"
    base_db = work / f"baseline-{size}.db"
    first_cfg = write_config(work / f"sync-{size}.toml", store.name, listing)
    changed_cfg = write_config(work / f"sync-{size}-changed.toml", store.name, changed)
    script = work / "baseline_insert.py"
    script.write_text(BASELINE_SCRIPT, encoding="utf-8")
    anchor = gen.ANCHOR
    later = anchor + timedelta(minutes=15)
    moved = sum(
        1
        for a, b in zip(gen_json(listing), gen_json(changed), strict=True)
        if a["start"] != b["start"]
    )
    edited = round(size * 0.01) if size >= 100 else 1

    def after_first(run: c.Run) -> None:
        expect("first sync", counts(run), created=size, listed=size)
        c.copy_db(store, template)

    def check_same(run: c.Run) -> None:
        expect("no-change resync", counts(run), unchanged=size, created=0, updated=0)

    def check_changed(run: c.Run) -> None:
        expect(
            "1%-changed resync",
            counts(run),
            rescheduled=moved,
            updated=edited - moved,
            unchanged=size - edited,
        )

    specs = [
        c.Spec(
            f"{size:>7,} first sync",
            [exe, "sync", "-v"],
            env_for(first_cfg, anchor),
            prepare=lambda: c.remove_db(store),
            check=after_first,
        ),
        c.Spec(
            f"{size:>7,} no-change resync",
            [exe, "sync", "-v"],
            env_for(first_cfg, later),
            prepare=lambda: c.copy_db(template, store),
            check=check_same,
        ),
        c.Spec(
            f"{size:>7,} 1%-changed resync",
            [exe, "sync", "-v"],
            env_for(changed_cfg, later),
            prepare=lambda: c.copy_db(template, store),
            check=check_changed,
        ),
        c.Spec(
            f"{size:>7,} baseline json+executemany",
            [sys.executable, str(script), str(listing), str(base_db)],
            prepare=lambda: c.remove_db(base_db),
        ),
    ]
    print(f"\n{size:,} appointments ({runs} runs after 1 warm-up; {c.load()})", flush=True)
    series = c.measure_all(specs, runs)
    for s in series:
        c.print_series(s)
    base = series[3]
    for s in series[:3]:
        print(
            f"    {s.label.strip():<32} {s.median / base.median:6.2f}x baseline "
            f"(CPU {s.cpu_median / base.cpu_median:.2f}x)"
        )
    return series


def gen_json(path: Path) -> list[dict[str, str]]:
    """A listing file, parsed."""
    return list(json.loads(path.read_text(encoding="utf-8")))


def profile(size: int, work: Path, lines: int) -> None:
    """cProfile, sorted by cumulative time, of the first and the no-change sync."""
    listing, _ = gen.ensure_pair(size, work)
    store = work / f"profile-{size}.db"
    config = write_config(work / f"profile-{size}.toml", store.name, listing)
    c.remove_db(store)
    for label, now in (
        ("first sync", gen.ANCHOR),
        ("no-change resync", gen.ANCHOR + timedelta(minutes=15)),
    ):
        print(f"\ncProfile of the {size:,} {label}:")
        print(c.cprofile(["sync"], env_for(config, now), lines))


def main() -> None:
    """Run every size, then print the targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default=f"1000,10000,{BIG}",
        help="comma-separated listing sizes (default 1000,10000,100000)",
    )
    parser.add_argument("-n", "--runs", type=int, default=5, help="timed runs per scenario")
    parser.add_argument(
        "--big-runs", type=int, default=3, help=f"timed runs for sizes >= {BIG:,} (default 3)"
    )
    parser.add_argument(
        "--work", type=Path, help="work folder, kept (default: a temporary one, removed after)"
    )
    parser.add_argument("--linkcli", help="path of the linkcli console script")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also cProfile the largest size's first and no-change syncs",
    )
    parser.add_argument("--profile-lines", type=int, default=25)
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    exe = c.linkcli_exe(args.linkcli)
    work = c.work_folder(args.work, "linkcli-sync-")
    print(c.machine())
    print(f"work folder: {work}")
    results: dict[int, list[c.Series]] = {}
    for size in sizes:
        results[size] = bench_size(size, args.big_runs if size >= BIG else args.runs, work, exe)

    print("\ntargets:")
    if 10_000 in results:
        r = results[10_000]
        ratio = r[1].median / r[3].median
        print(
            f"  no-change resync of 10,000 vs baseline: {ratio:.2f}x "
            f"(target <= {TARGET_VS_BASELINE}x): {c.verdict(ratio <= TARGET_VS_BASELINE)}"
        )
    if 10_000 in results and BIG in results:
        for i, name in enumerate(SCENARIOS):
            ratio = results[BIG][i].median / results[10_000][i].median
            print(
                f"  {name} 100,000 vs 10,000: {ratio:.1f}x (target <= {TARGET_SCALING}x): "
                f"{c.verdict(ratio <= TARGET_SCALING)}"
            )
        peaks = ", ".join(f"{s.label.strip()} {s.peak_rss_mib:.0f} MiB" for s in results[BIG])
        print(f"  peak RSS at 100,000: {peaks}")
    if args.profile:
        profile(max(sizes), work, args.profile_lines)


if __name__ == "__main__":
    main()
