"""A small Twilio-compatible HTTP server on 127.0.0.1 for fault-injection tests.

It answers the Messages API the way Twilio does (create, list with To/DateSent filters,
fetch) and can be told to fail the next N creates with an error code, or to accept a
message and then never answer (so a client can be killed "after Twilio accepted it").
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


@dataclass
class FakeTwilio:
    """State shared with the request handler."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    failures: list[tuple[int, int]] = field(default_factory=list)  # (http status, code)
    hang_after_accept: bool = False
    accepted: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    creates: int = 0

    def create(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.creates += 1
        if self.failures:
            status, code = self.failures.pop(0)
            return status, {
                "code": code,
                "message": f"error {code}",
                "status": status,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
            }
        sid = f"SM{len(self.messages) + 1:032x}"
        message = {
            "sid": sid,
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

    def inbound(self, from_number: str, body: str, to: str, when: datetime) -> None:
        self.messages.append(
            {
                "sid": f"SM{len(self.messages) + 1:032x}",
                "to": to,
                "from": from_number,
                "body": body,
                "status": "received",
                "direction": "inbound",
                "num_segments": "1",
                "error_code": None,
                "date_sent": format_datetime(when, usegmt=True),
                "date_created": format_datetime(when, usegmt=True),
            }
        )


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
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            status, body = state.create(form)
            if status == 201 and state.hang_after_accept:
                state.accepted.set()
                state.release.wait(30)  # the client is killed meanwhile
                return
            self._reply(status, body)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path.endswith("/Messages.json"):
                found = [m for m in state.messages if "To" not in query or m["to"] == query["To"]]
                self._reply(
                    200,
                    {
                        "messages": list(reversed(found)),
                        "next_page_uri": None,
                        "page": 0,
                        "page_size": 1000,
                        "uri": url.path,
                    },
                )
                return
            sid = url.path.rsplit("/", 1)[-1].removesuffix(".json")
            for message in state.messages:
                if message["sid"] == sid:
                    self._reply(200, message)
                    return
            self._reply(404, {"code": 20404, "message": "not found", "status": 404})

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
