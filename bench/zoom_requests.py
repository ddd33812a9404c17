"""Zoom requests per sync: `linkcli sync` against a local Zoom API of 100 meetings.

A threaded HTTP server on 127.0.0.1 answers the OAuth token, the upcoming-meetings list
(one page of N meetings, no registration) and each meeting's details, and counts what
it is asked. Each run is a fresh `linkcli sync` process (as cron runs it) on one store:
the first sync, then R no-change syncs 15 minutes apart (the token, valid one hour, is
fetched again once an hour, so one run in four also counts the OAuth call). Reported:
requests of the first sync, the median requests and median wall time of the no-change
syncs, and PASS/FAIL against the target (issue 11: at most 3 requests for a no-change
sync of 100 meetings).

    python bench/zoom_requests.py [-n 100] [-r 5]
    python bench/zoom_requests.py --pythonpath /path/to/other/checkout   # "before" figure
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TARGET = 3


def meetings(n: int) -> list[dict[str, object]]:
    out = []
    for i in range(1, n + 1):
        mid = 85500000000 + i
        out.append(
            {
                "uuid": f"uuid-{i}==",
                "id": mid,
                "host_id": "host-maya",
                "topic": f"Client{i:03d} Example session",
                "type": 2,
                "start_time": (NOW + timedelta(hours=6 * i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "duration": 50,
                "timezone": "America/New_York",
                "created_at": "2026-11-01T14:00:00Z",
                "join_url": f"https://us02web.zoom.us/j/{mid}?pwd=Bench{i}",
            }
        )
    return out


class Api(BaseHTTPRequestHandler):
    listing: list[dict[str, object]] = []
    count = 0
    lock = threading.Lock()

    def _json(self, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _counted(self) -> None:
        with Api.lock:
            Api.count += 1

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        self._counted()
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._json({"access_token": "bench-token", "token_type": "bearer", "expires_in": 3599})

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self._counted()
        path = self.path.split("?")[0]
        if path.endswith("/meetings") and "/users/" in path:
            total = len(Api.listing)
            self._json(
                {
                    "page_size": 300,
                    "total_records": total,
                    "next_page_token": "",
                    "meetings": Api.listing,
                }
            )
            return
        mid = path.rstrip("/").rsplit("/", 1)[-1]
        entry = next((m for m in Api.listing if str(m["id"]) == mid), {})
        self._json(
            {**entry, "host_email": "maya.chen@example.org", "settings": {"approval_type": 2}}
        )

    def log_message(self, *args: object) -> None:
        pass


def practice(root: Path, port: int, n: int) -> Path:
    rows = "\n".join(
        f"cl-{i},Client{i:03d} Example,c{i}@example.org,+1 617 555 01{i % 100:02d},both,"
        for i in range(1, n + 1)
    )
    (root / "contacts.csv").write_text(f"client,name,email,mobile,channels,timezone\n{rows}\n")
    config = root / "config.toml"
    config.write_text(
        f"""[practice]
name = "Bench Therapy"
timezone = "America/New_York"
country = "US"

[store]
path = "linkcli.db"

[source]
kind = "zoom"
base_url = "http://127.0.0.1:{port}/v2"
oauth_url = "http://127.0.0.1:{port}/oauth/token"

[contacts]
path = "contacts.csv"

[sms]
provider = "outbox"
outbox_path = "outbox-sms.jsonl"

[email]
provider = "outbox"
outbox_path = "outbox-email.jsonl"
from_address = "reminders@example.org"
"""
    )
    return config


def sync(config: Path, at: datetime, pythonpath: str | None) -> tuple[int, float, int]:
    env = {
        **os.environ,
        "LINKCLI_CONFIG": str(config),
        "LINKCLI_NOW": at.isoformat(),
        "ZOOM_ACCOUNT_ID": "bench-account",
        "ZOOM_CLIENT_ID": "bench-client",
        "ZOOM_CLIENT_SECRET": "bench-secret-not-real",
    }
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    before = Api.count
    started = time.perf_counter()
    # Run from the practice folder, so `-m linkcli` finds the installed (or --pythonpath)
    # linkcli, never a checkout that happens to be the current directory.
    done = subprocess.run(
        [sys.executable, "-m", "linkcli", "sync"],
        env=env,
        capture_output=True,
        text=True,
        cwd=config.parent,
    )
    elapsed = time.perf_counter() - started
    return Api.count - before, elapsed, done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--meetings", type=int, default=100)
    parser.add_argument("-r", "--runs", type=int, default=5, help="no-change syncs timed")
    parser.add_argument("--pythonpath", help="run the linkcli found here (a before figure)")
    args = parser.parse_args()

    Api.listing = meetings(args.meetings)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            config = practice(Path(folder), server.server_address[1], args.meetings)
            first, first_s, code = sync(config, NOW, args.pythonpath)
            if code != 0:
                print(f"first sync exited {code}", file=sys.stderr)
                return 1
            counts, times = [], []
            for run in range(1, args.runs + 1):
                n, seconds, code = sync(config, NOW + timedelta(minutes=15 * run), args.pythonpath)
                if code != 0:
                    print(f"no-change sync exited {code}", file=sys.stderr)
                    return 1
                counts.append(n)
                times.append(seconds)
    finally:
        server.shutdown()
    median = statistics.median(counts)
    print(f"zoom, {args.meetings} meetings, no registration")
    print(f"  first sync:      {first} requests, {first_s:.2f} s")
    print(
        f"  no-change sync:  median {median:g} requests (runs: {counts}), "
        f"median {statistics.median(times):.2f} s"
    )
    print(f"  target <= {TARGET} requests: {'PASS' if median <= TARGET else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
