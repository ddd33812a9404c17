"""SmtpEmail against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import email
import shutil
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage as MimeMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from icalendar import Calendar

from linkcli.channels.base import ChannelError, EmailMessage
from linkcli.channels.smtp import SmtpEmail, make_message_id
from linkcli.config import EmailConfig
from linkcli.core.emailbody import to_html
from linkcli.core.ics import build_ics
from linkcli.core.phones import mask_email

USER, PASSWORD = "practice-user", "s3cret-Pa55"
LINK = "https://video.example.org/j/1001?pwd=a1b2&x=1"
ENV_NOW = {"LINKCLI_NOW": "2026-11-20T12:00:00Z"}

# The plaintext AUTH servers below are deliberate (loopback only); aiosmtpd warns about them.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    peer: Any


@dataclass
class Collector:
    """aiosmtpd handler: keeps every envelope; refuses chosen recipients or all DATA."""

    refuse_rcpt: dict[str, str] = field(default_factory=dict)  # address -> reply line
    data_reply: str | None = None
    received: list[Received] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply:
            return self.data_reply
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, session.peer)
        )
        return "250 Message accepted for delivery"


@dataclass
class Server:
    port: int
    handler: Collector


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    # handled=False: let aiosmtpd send the standard 535 reply on failure.
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., Server]]:
    """Factory: start an aiosmtpd server with the given handler/SMTP options."""
    controllers: list[Controller] = []

    def start(handler: Collector | None = None, **smtp_options: Any) -> Server:
        handler = handler or Collector()
        port = _free_port()
        controller = Controller(
            handler,
            hostname="127.0.0.1",
            port=port,
            server_hostname="mx.example.org",
            ready_timeout=5,
            **smtp_options,
        )
        controller.start()
        controllers.append(controller)
        return Server(port, handler)

    yield start
    for controller in controllers:
        controller.stop()


def _config(port: int, **overrides: Any) -> EmailConfig:
    values: dict[str, Any] = {
        "provider": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "security": "none",
        "from_address": "reminders@example.org",
        "from_name": "Example Practice",
        "timeout": 3.0,
    }
    values.update(overrides)
    return EmailConfig(**values)


def _channel(port: int, env: dict[str, str] | None = None, **overrides: Any) -> SmtpEmail:
    return SmtpEmail(
        _config(port, **overrides), {**ENV_NOW, **(env or {})}, local_hostname="client.test"
    )


def _message(
    to: str = "casey@example.org", *, with_ics: bool = True, key: str = "k-1"
) -> EmailMessage:
    name = "Casey <script>alert(1)</script>"
    text = f"Hi {name},\n\nYour session starts at 3:00 PM.\nJoin: {LINK}\n"
    ics = None
    if with_ics:
        start = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)
        ics = build_ics(
            uid="apt-1001.p-cl-1@linkcli",
            sequence=2,
            method="REQUEST",
            start=start,
            end=start + timedelta(minutes=50),
            timezone="America/Chicago",
            summary="Video session",
            link=LINK,
            description="Join your video session:",
            stamp=datetime(2026, 11, 20, 12, 0, tzinfo=UTC),
            organizer_email="reminders@example.org",
            organizer_name="Example Practice",
            attendee_email=to,
            attendee_name=name,
        )
    return EmailMessage(
        to=to,
        to_name=name,
        subject="Your video session link",
        text=text,
        html=to_html(text),
        key=key,
        ics=ics,
        ics_method="REQUEST" if with_ics else None,
    )


def _parse(received: Received) -> MimeMessage:
    parsed = email.message_from_bytes(received.content, policy=policy.default)
    assert isinstance(parsed, MimeMessage)
    return parsed


def test_send_with_invite(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server()
    message = _message()
    with _channel(server.port) as channel:
        result = channel.send(message)

    assert result.status == "sent"
    assert len(server.handler.received) == 1
    got = server.handler.received[0]
    assert got.mail_from == "reminders@example.org"
    assert got.rcpt_tos == ["casey@example.org"]

    parsed = _parse(got)
    assert parsed.get_content_type() == "multipart/mixed"
    assert parsed["Message-ID"] == result.provider_id
    assert result.provider_id == make_message_id("k-1", "reminders@example.org")
    assert result.provider_id.endswith("@example.org>")
    assert parsed["X-Linkcli-Key"] == "k-1"
    assert parsed["From"] == "Example Practice <reminders@example.org>"
    assert parsed["To"].addresses[0].addr_spec == "casey@example.org"
    assert parsed["To"].addresses[0].display_name == "Casey <script>alert(1)</script>"
    assert parsed["Subject"] == "Your video session link"
    assert parsed["Date"].datetime == datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

    alternative, attachment = parsed.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    plain, html, calendar_part = alternative.iter_parts()

    assert plain.get_content_type() == "text/plain"
    assert plain.get_content().replace("\r\n", "\n") == message.text

    assert html.get_content_type() == "text/html"
    html_text = html.get_content()
    assert "<script>" not in html_text
    assert "Casey &lt;script&gt;alert(1)&lt;/script&gt;" in html_text
    assert '<a href="https://video.example.org/j/1001?pwd=a1b2&amp;x=1">' in html_text

    assert calendar_part.get_content_type() == "text/calendar"
    assert calendar_part.get_param("method") == "REQUEST"
    ics_bytes = calendar_part.get_payload(decode=True)
    assert ics_bytes == message.ics  # byte-exact, CRLFs included
    cal = Calendar.from_ical(ics_bytes)
    assert cal["METHOD"] == "REQUEST"
    (event,) = cal.walk("VEVENT")
    assert event["UID"] == "apt-1001.p-cl-1@linkcli"
    assert event["SEQUENCE"] == 2
    assert event["LOCATION"] == LINK

    assert attachment.get_filename() == "invite.ics"
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_payload(decode=True) == message.ics


def test_without_invite_is_plain_alternative(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server()
    with _channel(server.port) as channel:
        channel.send(_message(with_ics=False))
    parsed = _parse(server.handler.received[0])
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]


def test_connection_is_reused_until_closed(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server()
    channel = _channel(server.port)
    channel.send(_message(key="a"))
    channel.send(_message(key="b"))
    channel.close()
    channel.send(_message(key="c"))
    channel.close()
    channel.close()  # idempotent
    peers = [r.peer for r in server.handler.received]
    assert peers[0] == peers[1] != peers[2]


def test_login(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server(authenticator=_authenticator, auth_require_tls=False, auth_required=True)
    env = {"LINKCLI_SMTP_USERNAME": USER, "LINKCLI_SMTP_PASSWORD": PASSWORD}
    with _channel(server.port, env) as channel:
        assert channel.send(_message()).status == "sent"
    assert len(server.handler.received) == 1


def test_wrong_password_is_auth(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server(authenticator=_authenticator, auth_require_tls=False, auth_required=True)
    env = {"LINKCLI_SMTP_USERNAME": USER, "LINKCLI_SMTP_PASSWORD": "wrong-" + PASSWORD}
    with pytest.raises(ChannelError) as info, _channel(server.port, env) as channel:
        channel.send(_message())
    assert info.value.kind == "auth" and info.value.fatal
    assert info.value.code == "535"
    assert PASSWORD not in info.value.reason
    assert server.handler.received == []


def test_server_requiring_auth_without_credentials_is_auth(
    smtp_server: Callable[..., Server],
) -> None:
    server = smtp_server(authenticator=_authenticator, auth_require_tls=False, auth_required=True)
    with pytest.raises(ChannelError) as info, _channel(server.port) as channel:
        channel.send(_message())
    assert info.value.kind == "auth"  # 530 on MAIL FROM


def test_closed_port_is_transient() -> None:
    with pytest.raises(ChannelError) as info:
        _channel(_free_port()).send(_message())
    assert info.value.kind == "transient" and not info.value.permanent
    assert "refused" in info.value.reason


def test_silent_server_times_out_as_transient() -> None:
    # Accepts TCP (backlog) but never greets.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        channel = _channel(listener.getsockname()[1], timeout=0.2)
        with pytest.raises(ChannelError) as info:
            channel.send(_message())
    assert info.value.kind == "transient"


def test_recipient_refused_550_is_bad_contact(smtp_server: Callable[..., Server]) -> None:
    to = "casey@example.org"
    handler = Collector(refuse_rcpt={to: f"550 5.1.1 <{to}>: Recipient address rejected"})
    server = smtp_server(handler)
    with _channel(server.port) as channel:
        with pytest.raises(ChannelError) as info:
            channel.send(_message(to))
        assert info.value.kind == "bad_contact" and info.value.permanent
        assert info.value.code == "550"
        assert to not in info.value.reason
        assert mask_email(to) == "c***@example.org"
        assert "c***@example.org" in info.value.reason
        # The session is still usable for the next client.
        channel.send(_message("robin@example.org"))
    assert server.handler.received[0].rcpt_tos == ["robin@example.org"]


def test_recipient_4xx_is_transient(smtp_server: Callable[..., Server]) -> None:
    handler = Collector(refuse_rcpt={"casey@example.org": "450 4.2.1 Mailbox busy, try later"})
    server = smtp_server(handler)
    with pytest.raises(ChannelError) as info, _channel(server.port) as channel:
        channel.send(_message())
    assert info.value.kind == "transient"


def test_data_554_is_rejected(smtp_server: Callable[..., Server]) -> None:
    server = smtp_server(Collector(data_reply="554 5.7.1 Message refused as spam"))
    with pytest.raises(ChannelError) as info, _channel(server.port) as channel:
        channel.send(_message())
    assert info.value.kind == "rejected" and info.value.code == "554"


def test_starttls_required_but_not_offered(smtp_server: Callable[..., Server]) -> None:
    # Transient, not rejected: the server/port is wrong, not the message, so messages
    # must stay queued until the operator fixes the config; never falls back to plaintext.
    server = smtp_server()
    with pytest.raises(ChannelError) as info:
        _channel(server.port, security="starttls").send(_message())
    assert info.value.kind == "transient"
    assert info.value.code == "no-starttls"
    assert "STARTTLS" in info.value.reason
    assert server.handler.received == []


# -- real STARTTLS with a throwaway self-signed certificate --------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed cert for 127.0.0.1 (skips if the openssl CLI is missing)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl CLI not available")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
        timeout=20,
    )  # fmt: skip
    return cert, key


def _tls_server(smtp_server: Callable[..., Server], certificate: tuple[Path, Path]) -> Server:
    cert, key = certificate
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    # auth_require_tls stays at its default (True): login only after STARTTLS.
    return smtp_server(
        tls_context=server_ctx,
        require_starttls=True,
        authenticator=_authenticator,
        auth_required=True,
    )


def test_starttls_and_login(
    smtp_server: Callable[..., Server], certificate: tuple[Path, Path]
) -> None:
    server = _tls_server(smtp_server, certificate)
    env = {**ENV_NOW, "LINKCLI_SMTP_USERNAME": USER, "LINKCLI_SMTP_PASSWORD": PASSWORD}
    trust = ssl.create_default_context(cafile=str(certificate[0]))
    channel = SmtpEmail(
        _config(server.port, security="starttls"), env, ssl_context=trust, local_hostname="c.test"
    )
    with channel:
        channel.send(_message())
    assert len(server.handler.received) == 1


def test_untrusted_certificate_is_fatal(
    smtp_server: Callable[..., Server], certificate: tuple[Path, Path]
) -> None:
    server = _tls_server(smtp_server, certificate)
    with pytest.raises(ChannelError) as info:
        _channel(server.port, security="starttls").send(_message())  # system CAs only
    assert info.value.kind == "auth" and info.value.fatal
    assert "certificate" in info.value.reason
    assert server.handler.received == []
