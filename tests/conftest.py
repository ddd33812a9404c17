"""Shared fixtures: a practice on disk (config + canonical appointments file), a CLI
driver with an injected clock, a real SMTP server on 127.0.0.1, and Twilio's HTTP API
answered by respx under the real twilio library."""

from __future__ import annotations

import contextlib
import json
import socket
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import respx
from aiosmtpd.controller import Controller
from typer.testing import CliRunner

from linkcli.cli import app
from tests.twilio_server import SID, FakeTwilio

ZOOM = "https://us02web.zoom.us/j/85512345678?pwd=AbCdEf123"


def appointment(
    id: str = "apt-1001",
    start: str = "2026-11-24T15:00:00-05:00",
    minutes: int = 50,
    status: str = "scheduled",
    link: str | None = ZOOM,
    participants: list[dict[str, Any]] | None = None,
    therapist: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A canonical appointment record with one client unless told otherwise."""
    from datetime import datetime, timedelta

    begin = datetime.fromisoformat(start)
    record = {
        "id": id,
        "status": status,
        "start": start,
        "end": (begin + timedelta(minutes=minutes)).isoformat(),
        "format": "telehealth",
        "telehealth_url": link,
        "therapist": therapist or {"id": "th-1", "name": "Maya Chen", "display_name": "Dr. Chen"},
        "participants": participants if participants is not None else [client()],
        "updated_at": "2026-11-20T10:00:00Z",
    }
    record.update(extra)
    return record


def client(
    id: str = "cl-1",
    name: str = "Alex Rivera",
    email: str | None = "alex@example.org",
    mobile: str | None = "+1 617 555 0101",
    **extra: Any,
) -> dict[str, Any]:
    """A canonical participant."""
    record = {
        "id": id,
        "name": name,
        "first_name": name.split()[0],
        "email": email,
        "mobile": mobile,
        "sms_opt_in": True,
        "email_opt_in": True,
        "timezone": None,
    }
    record.update(extra)
    return record


def write_config(root: Path, *parts: str) -> Path:
    """The one config writer: `root/config.toml` from TOML parts, each dedented, joined
    in order (a practice section, a source, channels, extras). Every test's config is
    written here, so a test reads its lines off the parts it passed."""
    path = root / "config.toml"
    path.write_text("".join(textwrap.dedent(part) for part in parts), encoding="utf-8")
    return path


@pytest.fixture
def config_file(tmp_path: Path) -> Callable[..., Path]:
    """Factory: `config_file(*parts)` writes this test's config.toml (see write_config)."""
    return lambda *parts: write_config(tmp_path, *parts)


@dataclass
class Practice:
    """A practice folder: config.toml, appointments.json, outbox files, the database."""

    root: Path
    runner: CliRunner = field(default_factory=CliRunner)
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    @property
    def db(self) -> Path:
        return self.root / "linkcli.db"

    def write_config(
        self, extra: str = "", sms: str | None = None, email: str | None = None
    ) -> None:
        sms = sms or 'provider = "outbox"'
        email = email or 'provider = "outbox"\nfrom_address = "reminders@example.org"'
        write_config(
            self.root,
            """\
            [practice]
            name = "Riverside Therapy"
            timezone = "America/New_York"
            country = "US"

            [source]
            kind = "file"
            path = "appointments.json"
            """,
            f"\n[sms]\n{sms}\n\n[email]\n{email}\n\n",
            extra,
        )

    def schedule(self, *records: dict[str, Any]) -> None:
        (self.root / "appointments.json").write_text(json.dumps(list(records), indent=1))

    def env(self, now: str) -> dict[str, str]:
        return {"LINKCLI_NOW": now, "LINKCLI_CONFIG": str(self.config), **self.extra_env}

    def cli(self, now: str, *args: str) -> Any:
        """Run `linkcli ARGS` in-process at the given instant."""
        return self.runner.invoke(app, list(args), env=self.env(now))

    def ok(self, now: str, *args: str) -> Any:
        result = self.cli(now, *args)
        assert result.exit_code == 0, (result.exit_code, result.output, result.stderr)
        return result

    def status(self, now: str) -> dict[str, Any]:
        return json.loads(self.ok(now, "status", "--json").stdout)

    def preview(self, now: str, *args: str) -> list[dict[str, Any]]:
        return json.loads(self.ok(now, "preview", "--json", *args).stdout)

    def sms(self) -> list[dict[str, Any]]:
        path = self.root / "outbox-sms.jsonl"
        return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []

    def emails(self) -> list[dict[str, Any]]:
        path = self.root / "outbox-email.jsonl"
        return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def practice(tmp_path: Path) -> Practice:
    """A practice with the default config and one session on Tue 2026-11-24 15:00 EST."""
    p = Practice(tmp_path)
    p.write_config()
    p.schedule(appointment())
    return p


# --- SMTP --------------------------------------------------------------------------


@dataclass
class Inbox:
    """What the local SMTP server received, parsed."""

    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


@dataclass
class SmtpServer:
    port: int
    inbox: Inbox
    controller: Controller

    def stop(self) -> None:
        self.controller.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[Callable[[], SmtpServer]]:
    """Factory: start a real aiosmtpd server on 127.0.0.1 (stopped after the test)."""
    started: list[SmtpServer] = []

    def start() -> SmtpServer:
        inbox = Inbox()
        port = free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        server = SmtpServer(port, inbox, controller)
        started.append(server)
        return server

    yield start
    for server in started:
        with contextlib.suppress(AssertionError, RuntimeError):
            server.stop()


# --- Twilio --------------------------------------------------------------------------


# One fake for every test (tests/twilio_server.py); here mounted under respx.


@pytest.fixture
def twilio_api() -> Iterator[FakeTwilio]:
    """Twilio's API at https://api.twilio.com, answered locally (never the network)."""
    with respx.mock(assert_all_called=False) as router:
        api = FakeTwilio()
        api.mount(router)
        yield api


# The outbox channels every source test's config uses: records instead of sending.
OUTBOX_CHANNELS = """
[sms]
provider = "outbox"
outbox_path = "outbox-sms.jsonl"

[email]
provider = "outbox"
outbox_path = "outbox-email.jsonl"
from_address = "reminders@example.org"
"""

TWILIO_ENV = {"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": "test-token-not-real"}
