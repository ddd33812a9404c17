"""Replies tick: the quiet cron `linkcli dispatch` with answering replies on, when no
session starts within `[replies] link_ahead`, against the same tick with answering off
(what every tick cost before replies were answered).

The store holds N one-client appointments (default 2,000) that all start 2 to 30 days
after the tick, with `[sms] provider = "twilio"` pointed at a closed loopback port: a
tick that tried to read replies would fail to connect (and import twilio), which the
bench checks it never does. Both configs share one store; each tick is a fresh process,
interleaved with its baseline. Target: median <= 1.1x the answering-off tick, and no
heavy module imported. A third figure, for information: the tick when a session *is*
within link_ahead (replies read from the one Twilio fake of the tests on 127.0.0.1).

    /work/venv/bin/python bench/replies_tick.py [-n 7] [--appointments 2000]
"""

from __future__ import annotations

import argparse
import json
import socket
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import _common as c
import gen
import tick

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.twilio_server import SID, TwilioServer  # noqa: E402  (the one fake)

TARGET = 1.1
TOKEN = "bench-token-not-real"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(work: Path, name: str, listing: Path, base_url: str, enabled: bool) -> Path:
    """A file-source config, texts through Twilio at `base_url`, answering on or off."""
    config = work / f"{name}.toml"
    config.write_text(
        f'[store]\npath = "replies.db"\n\n[source]\nkind = "file"\npath = "{listing}"\n\n'
        f'[sms]\nprovider = "twilio"\nfrom_number = "+16175550100"\napi_base_url = "{base_url}"\n'
        'quiet_hours = ""\n\n'
        '[email]\nprovider = "outbox"\noutbox_path = "outbox-email.jsonl"\n\n'
        f"[replies]\nenabled = {'true' if enabled else 'false'}\n",
        encoding="utf-8",
    )
    return config


def env_for(config: Path, now: datetime) -> dict[str, str]:
    env = tick.env_at(config, now)
    env.update(TWILIO_ACCOUNT_SID=SID, TWILIO_AUTH_TOKEN=TOKEN)
    return env


def main() -> None:
    """Build the store, then time the quiet tick with answering on against off."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=7, help="timed runs per command")
    parser.add_argument("--appointments", type=int, default=2_000)
    parser.add_argument("--work", type=Path, help="work folder, kept (default: temporary)")
    parser.add_argument("--linkcli", help="path of the linkcli console script")
    args = parser.parse_args()
    exe = c.linkcli_exe(args.linkcli)
    work = c.work_folder(args.work, "linkcli-replies-tick-")
    print(c.machine())
    now = gen.ANCHOR
    # Every session 2..30 days ahead: none within link_ahead (24 h), nothing due.
    records = gen.make_appointments(args.appointments, anchor=now + timedelta(days=2), days=28)
    listing = gen.write(records, work / "far.json")
    closed = f"http://127.0.0.1:{closed_port()}"
    on = write_config(work, "on", listing, closed, enabled=True)
    off = write_config(work, "off", listing, closed, enabled=False)
    c.remove_db(work / "replies.db")
    setup = c.run_once([exe, "sync"], env_for(on, now))
    if setup.returncode:
        raise SystemExit(f"setup sync failed: {setup.stderr.strip()}")
    at = now + timedelta(minutes=1)
    with sqlite3.connect(work / "replies.db") as conn:
        due = conn.execute(
            "select count(*) from sends where state = 'pending' and due_at <= ?", [tick.iso(at)]
        ).fetchone()[0]
        soonest = conn.execute("select min(start) from appointments").fetchone()[0]
    print(f"  store: {len(records)} appointments, soonest start {soonest}, {due} due at tick")
    if due:
        raise SystemExit("the tick is not nothing-due")

    print(f"  before: {c.load()}")
    on_series, off_series = c.measure_all(
        [
            c.Spec(
                "dispatch, replies on, no session within 24 h",
                [exe, "dispatch", "-v"],
                env_for(on, at),
                check=tick.check_nothing_due,
            ),
            c.Spec(
                "baseline: the same tick, replies off",
                [exe, "dispatch", "-v"],
                env_for(off, at),
                check=tick.check_nothing_due,
            ),
        ],
        args.runs,
    )
    print(f"  after: {c.load()}")
    ratio = on_series.median / off_series.median
    print(f"\nresults ({args.runs} runs after 1 warm-up):")
    c.print_series(on_series)
    c.print_series(off_series)
    print(f"  ratio {ratio:.2f}x (target <= {TARGET}x): {c.verdict(ratio <= TARGET)}")
    loaded = tick.heavy_imports(env_for(on, at))
    print(f"  heavy modules imported by the quiet tick: {json.dumps(loaded['modules'])}")

    # For information: a session within link_ahead, so replies are read (one list call).
    with TwilioServer() as server:
        near = write_config(work, "near", listing, server.url, enabled=True)
        soon = min(datetime.fromisoformat(r["start"]).astimezone(UTC) for r in records)
        near_at = soon - timedelta(hours=23, minutes=59)
        # The 24 h texts of that first session are due then: send them, then time the
        # next minute, when nothing is due but the replies are read.
        first = c.run_once([exe, "dispatch"], env_for(near, near_at))
        if first.returncode not in (0, 1):
            raise SystemExit(f"near setup failed: {first.stderr.strip()}")
        reads = c.measure_all(
            [
                c.Spec(
                    "dispatch, a session within 24 h (reads replies)",
                    [exe, "dispatch"],
                    env_for(near, near_at + timedelta(minutes=1)),
                )
            ],
            args.runs,
        )[0]
        c.print_series(reads)
        print(f"  ratio to the quiet tick: {reads.median / off_series.median:.2f}x")


if __name__ == "__main__":
    main()
