"""Dispatch throughput: 1,000 due SMS sent by `linkcli dispatch` to a local Twilio stub.

A small threaded HTTP server on 127.0.0.1 (started here, bounded in requests and
lifetime, so it always stops by itself) answers

    POST /2010-04-01/Accounts/{AccountSid}/Messages.json

after a fixed delay (default 20 ms) with a realistic Message resource (sid "SM" + 32 hex,
status "queued", num_segments "1"), and the list form (GET) with an empty page, in case
the dispatch reads inbound replies first. linkcli is pointed at it with
`[sms] provider = "twilio"`, `api_base_url = "http://127.0.0.1:PORT"`.

The store holds 1,000 single-participant telehealth appointments starting between 65 min
and 24 h after LINKCLI_NOW, whose clients have a mobile but no email: at that instant
exactly one SMS per appointment is due (reminder-24h; the email twin of each is skipped
for want of an address, the final-30m SMS is not due yet). The store is restored from a
copy before every run.

Baseline: a fresh Python process posting the very same 1,000 requests (the form fields
linkcli sent, recorded by the stub) over one `httpx.Client`, sequentially (linkcli sends
one at a time: concurrency 1). Reported: messages/s of both and their ratio (target:
linkcli >= 0.8x the baseline's rate). Runs are interleaved.

    /work/venv/bin/python bench/dispatch_throughput.py [-n 5] [--messages 1000] [--delay-ms 20]
        [--profile 30]   # cProfile one dispatch: its top 30 rows by cumulative time
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import _common as c
import gen

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "x"
FROM_NUMBER = "+16175550100"
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
TARGET = 0.8
# The call chain of one HTTP request (twilio-python -> httpx -> httpcore -> socket): its
# cost is the stub's delay, identical for linkcli and the baseline, so --profile hides it
# to show what linkcli adds around each send.
NETWORK_FRAMES = re.compile(
    r"\b(_client|default|connection_pool|connection|http11|version|domain|client_base|"
    r"httpx_twilio)\.py:\d+\(|\bsync\.py:\d+\(read\)|method 'recv'|"
    r"__init__\.py:\d+\((create|_create)\)|twilio\.py:\d+\(send\)"
)
MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-f]{32})/Messages\.json(\?.*)?$")

BASELINE_SCRIPT = '''"""Baseline: post recorded Twilio requests one by one over one httpx.Client."""
import json
import os
import sys

import httpx

requests = json.load(open(sys.argv[1], encoding="utf-8"))
auth = (os.environ["TWILIO_ACCOUNT_SID"], os.environ["TWILIO_AUTH_TOKEN"])
with httpx.Client(auth=auth, timeout=10.0) as client:
    for url, form in requests:
        response = client.post(url, data=form)
        response.raise_for_status()
        assert response.json()["sid"].startswith("SM")
'''


class TwilioStub(ThreadingHTTPServer):
    """A Twilio-compatible Messages endpoint that records what it is sent."""

    daemon_threads = True

    def __init__(self, delay: float, max_requests: int, lifetime: float) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.delay = delay
        self.max_requests = max_requests
        self.lock = threading.Lock()
        self.requests = 0
        self.posts: list[tuple[str, dict[str, list[str]]]] = []
        self.gets = 0
        # Stops by itself: after `lifetime` seconds whatever happens.
        self.timer = threading.Timer(lifetime, self.shutdown)
        self.timer.daemon = True

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> None:
        """Serve in a background thread until `stop` (or the lifetime timer)."""
        threading.Thread(target=self.serve_forever, daemon=True).start()
        self.timer.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.timer.cancel()
        self.shutdown()
        self.server_close()

    def reset(self) -> None:
        """Forget the recorded requests (the request budget is kept)."""
        with self.lock:
            self.posts = []
            self.gets = 0

    def admit(self) -> bool:
        """Count one request; False once the budget is spent."""
        with self.lock:
            self.requests += 1
            return self.requests <= self.max_requests


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Twilio's API
    disable_nagle_algorithm = True  # else headers and body can wait on a delayed ACK
    server: TwilioStub

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        """Quiet."""

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _route(self) -> str | None:
        """The account SID of a Messages.json URL, after the auth and budget checks."""
        if not self.server.admit():
            self._reply(503, {"code": 20503, "message": "stub request budget spent", "status": 503})
            return None
        m = MESSAGES_PATH.match(self.path)
        if not m:
            self._reply(
                404,
                {"code": 20404, "message": "The requested resource was not found", "status": 404},
            )
            return None
        if not self.headers.get("Authorization", "").startswith("Basic "):
            self._reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
            return None
        return m.group(1)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        """Create a message."""
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
        account = self._route()
        if account is None:
            return
        time.sleep(self.server.delay)
        with self.server.lock:
            self.server.posts.append((self.path, form))
        now = format_datetime(datetime.now(UTC))
        sid = "SM" + uuid.uuid4().hex
        self._reply(
            201,
            {
                "account_sid": account,
                "api_version": "2010-04-01",
                "body": form.get("Body", [""])[0],
                "date_created": now,
                "date_sent": None,
                "date_updated": now,
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": form.get("From", [None])[0],
                "messaging_service_sid": form.get("MessagingServiceSid", [None])[0],
                "num_media": "0",
                "num_segments": "1",
                "price": None,
                "price_unit": "USD",
                "sid": sid,
                "status": "queued",
                "subresource_uris": {
                    "media": f"/2010-04-01/Accounts/{account}/Messages/{sid}/Media.json"
                },
                "to": form.get("To", [None])[0],
                "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
            },
        )

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        """List messages: always an empty page (no inbound replies)."""
        account = self._route()
        if account is None:
            return
        time.sleep(self.server.delay)
        with self.server.lock:
            self.server.gets += 1
        uri = self.path
        self._reply(
            200,
            {
                "messages": [],
                "end": 0,
                "first_page_uri": uri,
                "next_page_uri": None,
                "page": 0,
                "page_size": 1000,
                "previous_page_uri": None,
                "start": 0,
                "uri": uri,
            },
        )


def iso(moment: datetime) -> str:
    """LINKCLI_NOW text for an instant."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_config(work: Path, listing: Path, base_url: str) -> Path:
    """A file-source config sending SMS through Twilio at `base_url`."""
    config = work / "dispatch.toml"
    config.write_text(
        f'[store]\npath = "dispatch.db"\n\n[source]\nkind = "file"\npath = "{listing}"\n\n'
        f'[sms]\nprovider = "twilio"\nfrom_number = "{FROM_NUMBER}"\n'
        f'api_base_url = "{base_url}"\nquiet_hours = ""\n\n'  # times sending, not policy
        '[email]\nprovider = "outbox"\noutbox_path = "outbox-email.jsonl"\n',
        encoding="utf-8",
    )
    return config


def due_by_kind(db: Path, now: datetime) -> dict[str, int]:
    """Pending sends due at `now`, by step/channel."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "select step || '/' || channel, count(*) from sends where state = 'pending' "
            "and due_at <= ? group by 1",
            [iso(now)],
        ).fetchall()
    return dict(rows)


def main() -> None:
    """Build the store, run linkcli and the httpx baseline against the stub, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=5, help="timed runs per command")
    parser.add_argument("--messages", type=int, default=1000, help="SMS due per run")
    parser.add_argument("--delay-ms", type=float, default=20.0, help="the stub's answer delay")
    parser.add_argument(
        "--work", type=Path, help="work folder, kept (default: a temporary one, removed after)"
    )
    parser.add_argument("--linkcli", help="path of the linkcli console script")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="LINES",
        help="also cProfile one dispatch and print its top LINES rows",
    )
    args = parser.parse_args()
    exe = c.linkcli_exe(args.linkcli)
    work = c.work_folder(args.work, "linkcli-dispatch-")
    n = args.messages
    rounds = (args.runs + 1) * 2 + (1 if args.profile else 0)
    stub = TwilioStub(
        args.delay_ms / 1000,
        max_requests=rounds * (n + 10) + 100,
        lifetime=rounds * (n * (args.delay_ms / 1000 + 0.05) + 60) + 120,
    )
    stub.start()
    try:
        run_bench(args, exe, work, stub)
    finally:
        stub.stop()


def run_bench(args: argparse.Namespace, exe: str, work: Path, stub: TwilioStub) -> None:
    """Everything but the stub's lifetime."""
    n = args.messages
    print(c.machine())
    print(f"work folder: {work}; Twilio stub at {stub.base_url} ({args.delay_ms:g} ms per request)")
    records = gen.make_appointments(
        n,
        seed=7,
        anchor=NOW,
        first_minute=65,
        last_minute=24 * 60,
        group_share=0.0,
        in_person_share=0.0,
        with_email=False,
    )
    listing = gen.write(records, work / f"dispatch-{n}.json")
    config = write_config(work, listing, stub.base_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "LINKCLI_"))}
    env.update(
        LINKCLI_CONFIG=str(config),
        LINKCLI_NOW=iso(NOW),
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
    )
    store, template = work / "dispatch.db", work / "dispatch.template.db"
    c.remove_db(store)
    setup = c.run_once([exe, "sync", "-v"], env)
    if setup.returncode:
        raise SystemExit(f"setup sync failed: {(setup.stdout + setup.stderr).strip()}")
    print(f"  setup sync: {setup.stdout.strip()}")
    due = due_by_kind(store, NOW)
    print(f"  due at LINKCLI_NOW={iso(NOW)}: {due}")
    sms_due = sum(v for k, v in due.items() if k.endswith("/sms"))
    if sms_due != n:
        raise SystemExit(f"expected {n} SMS due, found {sms_due}")
    c.copy_db(store, template)
    requests_file = work / "requests.json"
    requests_file.unlink(missing_ok=True)  # it names this run's stub port
    script = work / "baseline_httpx.py"
    script.write_text(BASELINE_SCRIPT, encoding="utf-8")
    seen: dict[str, int] = {}

    def prepare_linkcli() -> None:
        c.copy_db(template, store)
        stub.reset()

    def check_linkcli(run: c.Run) -> None:
        m = re.search(
            r"dispatch: sent (\d+), failed (\d+), retrying (\d+), skipped (\d+)", run.stdout
        )
        if not m or int(m.group(1)) != n or int(m.group(2)) or int(m.group(3)):
            raise SystemExit(f"linkcli dispatch did not send {n}: {run.stdout}{run.stderr}")
        if len(stub.posts) != n:
            raise SystemExit(f"the stub received {len(stub.posts)} POSTs, expected {n}")
        seen.update(skipped=int(m.group(4)), gets=stub.gets)
        if not requests_file.exists():
            # The baseline replays exactly what linkcli sent (URL and form fields).
            posts = [(stub.base_url + path, form) for path, form in stub.posts]
            requests_file.write_text(json.dumps(posts), encoding="utf-8")
            seen["fields"] = len(posts[0][1])
            print(
                f"  recorded form fields: {sorted(posts[0][1])}; first body: "
                f"{posts[0][1]['Body'][0]!r}"
            )

    def check_baseline(run: c.Run) -> None:
        if len(stub.posts) != n:
            raise SystemExit(f"baseline: the stub received {len(stub.posts)} POSTs")

    print(f"  {c.load()}", flush=True)
    linkcli, baseline = c.measure_all(
        [
            c.Spec(
                "linkcli dispatch (twilio, 1 at a time)",
                [exe, "dispatch", "-v"],
                env,
                prepare=prepare_linkcli,
                check=check_linkcli,
            ),
            c.Spec(
                "baseline: httpx.Client loop",
                [sys.executable, str(script), str(requests_file)],
                env,
                prepare=stub.reset,
                check=check_baseline,
            ),
        ],
        args.runs,
    )
    print(f"  {c.load()}")
    rate, base_rate = n / linkcli.median, n / baseline.median
    floor = n * args.delay_ms / 1000
    print(
        f"\nresults ({args.runs} runs after 1 warm-up, {n} SMS per run, floor "
        f"{floor:.1f} s = {n} x {args.delay_ms:g} ms at concurrency 1):"
    )
    c.print_series(linkcli)
    c.print_series(baseline)
    print(
        f"  linkcli  {rate:6.1f} messages/s   (email rows skipped per run: "
        f"{seen.get('skipped')}, inbound list GETs per run: {seen.get('gets')})"
    )
    print(f"  baseline {base_rate:6.1f} messages/s")
    ratio = rate / base_rate
    print(
        f"  ratio {ratio:.2f}x (target >= {TARGET}x): {c.verdict(ratio >= TARGET)}; "
        f"time over the floor: linkcli {linkcli.median - floor:.2f} s, baseline "
        f"{baseline.median - floor:.2f} s; CPU linkcli {c.fmt_s(linkcli.cpu_median)}, "
        f"baseline {c.fmt_s(baseline.cpu_median)}"
    )
    if args.profile:
        prepare_linkcli()
        print(f"\ncProfile of one linkcli dispatch of {n} SMS:")
        print(
            c.cprofile(
                ["dispatch"],
                env,
                args.profile,
                skip=NETWORK_FRAMES,
                note="; so are the frames of the HTTP call itself",
            )
        )


if __name__ == "__main__":
    main()
