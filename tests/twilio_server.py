"""The one Twilio fake of the test suite: Twilio's Messages API as state plus answers.

`FakeTwilio` answers create, list (To filter) and fetch the way Twilio's 2010-04-01 API
does. It is mounted two ways, with the same behaviour:
- `TwilioServer`: a real HTTP server on 127.0.0.1 (for subprocess runs, kill -9, a
  client that must be left hanging "after Twilio accepted it");
- `FakeTwilio.mount(router)`: respx routes at https://api.twilio.com (the `twilio_api`
  fixture), for in-process CLI tests.
It can be told to fail the next creates with an error code, to report a final delivery
status for a message, and to list replies clients sent.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import respx

SID = "AC" + "0" * 32  # the account every test config uses


@dataclass
class FakeTwilio:
    """What Twilio holds and how it will answer next."""

    messages: list[dict[str, Any]] = field(default_factory=list)  # outbound, as created
    inbound: list[dict[str, Any]] = field(default_factory=list)  # replies clients sent
    posted: list[dict[str, str]] = field(default_factory=list)  # the form of each accepted
    failures: list[tuple[int, int]] = field(default_factory=list)  # (http status, code)
    statuses: dict[str, tuple[str, int | None]] = field(default_factory=dict)  # sid -> final
    fetched: list[str] = field(default_factory=list)  # sids whose status was read
    hang_after_accept: bool = False
    accepted: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    creates: int = 0
    account_status: str = "active"  # what GET Accounts/{sid}.json reports
    account_failure: tuple[int, int] | None = None  # (http status, code) instead
    account_reads: int = 0

    # -- the API ---------------------------------------------------------------------

    def create(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """POST Messages.json: the next queued failure, else an accepted message."""
        self.creates += 1
        if self.failures:
            status, code = self.failures.pop(0)
            return status, {
                "code": code,
                "message": f"error {code}",
                "status": status,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
            }
        self.posted.append(form)
        message = {
            "sid": f"SM{len(self.messages) + 1:032d}",
            "to": form.get("To"),
            "from": form.get("From"),
            "body": form.get("Body"),
            "status": "queued",
            "direction": "outbound-api",
            "num_segments": "1",
            "error_code": None,
            "date_sent": None,
            "date_created": format_datetime(datetime.now(UTC), usegmt=True),
        }
        self.messages.append(message)
        return 201, message

    def list(self, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """GET Messages.json: newest first, filtered on To when given, one page."""
        every = [*self.messages, *self.inbound]
        found = [m for m in every if "To" not in query or m.get("to") == query["To"]]
        return 200, {
            "messages": list(reversed(found)),
            "next_page_uri": None,
            "page": 0,
            "page_size": 1000,
            "first_page_uri": "/",
            "previous_page_uri": None,
            "uri": "/",
            "start": 0,
            "end": len(found),
        }

    def fetch(self, sid: str) -> tuple[int, dict[str, Any]]:
        """GET Messages/{sid}.json: the status a test set, else "sent" (Twilio handed
        the message on)."""
        self.fetched.append(sid)
        for message in self.messages:
            if message["sid"] == sid:
                status, code = self.statuses.get(sid, ("sent", None))
                return 200, {**message, "status": status, "error_code": code}
        return 404, {"code": 20404, "message": "not found", "status": 404}

    def account(self) -> tuple[int, dict[str, Any]]:
        """GET Accounts/{sid}.json: the account the credentials belong to (doctor)."""
        self.account_reads += 1
        if self.account_failure is not None:
            status, code = self.account_failure
            return status, {
                "code": code,
                "message": "Authenticate" if code == 20003 else f"error {code}",
                "status": status,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
            }
        return 200, {"sid": SID, "status": self.account_status, "friendly_name": "Riverside"}

    def inbound_reply(self, from_number: str, body: str, to: str, when: datetime) -> None:
        """A client's reply, as Twilio lists it."""
        stamp = format_datetime(when, usegmt=True)
        self.inbound.append(
            {
                "sid": f"SM{9_000_000 + len(self.inbound):032d}",
                "to": to,
                "from": from_number,
                "body": body,
                "status": "received",
                "direction": "inbound",
                "num_segments": "1",
                "error_code": None,
                "date_sent": stamp,
                "date_created": stamp,
            }
        )

    # -- mounted under respx ----------------------------------------------------------

    def mount(self, router: respx.MockRouter, base: str = "https://api.twilio.com") -> None:
        """Answer Twilio's Messages API at `base` from this state (in-process tests)."""
        messages = f"{base}/2010-04-01/Accounts/{SID}/Messages.json"
        router.post(messages).mock(side_effect=self._respx_create)
        router.get(messages).mock(side_effect=self._respx_list)
        router.get(url__regex=rf"/Accounts/{SID}/Messages/(?P<sid>SM\w+)\.json$").mock(
            side_effect=self._respx_fetch
        )
        router.get(f"{base}/2010-04-01/Accounts/{SID}.json").mock(
            side_effect=lambda request: _response(self.account())
        )

    def _respx_create(self, request: httpx.Request) -> httpx.Response:
        return _response(self.create(_form(request.content)))

    def _respx_list(self, request: httpx.Request) -> httpx.Response:
        return _response(self.list(dict(request.url.params)))

    def _respx_fetch(self, request: httpx.Request, sid: str) -> httpx.Response:
        return _response(self.fetch(sid))


def _form(content: bytes) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(content.decode()).items()}


def _response(answer: tuple[int, dict[str, Any]]) -> httpx.Response:
    status, body = answer
    return httpx.Response(status, json=body)


# -- served on 127.0.0.1 ------------------------------------------------------------------


def _handler(state: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            status, body = state.create(_form(self.rfile.read(length)))
            if status == 201 and state.hang_after_accept:
                state.accepted.set()
                state.release.wait(30)  # the client is killed meanwhile
                return
            self._reply(status, body)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path.endswith(f"/Accounts/{SID}.json"):
                self._reply(*state.account())
                return
            if url.path.endswith("/Messages.json"):
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                self._reply(*state.list(query))
                return
            self._reply(*state.fetch(url.path.rsplit("/", 1)[-1].removesuffix(".json")))

    return Handler


class TwilioServer:
    """Runs FakeTwilio on a free loopback port in a thread."""

    def __init__(self) -> None:
        self.state = FakeTwilio()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> TwilioServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.state.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
