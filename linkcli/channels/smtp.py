"""Send email over SMTP (stdlib `smtplib`), with an optional calendar invite.

Secrets come from the environment only: `LINKCLI_SMTP_USERNAME` and
`LINKCLI_SMTP_PASSWORD`. Every failure is raised as a `ChannelError` whose reason never
contains the password and shows the recipient masked (``a***@example.org``), because
reasons end up in logs and in the store.

One connection is opened lazily and kept for the life of the object, so a run that
sends fifty reminders logs in once; call `close()` (or use it as a context manager)
when done. Not thread-safe: one object per thread.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
import smtplib
import socket
import ssl
from collections.abc import Mapping
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage as MimeMessage
from email.utils import format_datetime
from types import TracebackType

from linkcli import clock
from linkcli.channels.base import ChannelError, EmailMessage, ErrorKind, SendResult
from linkcli.config import EmailConfig
from linkcli.core.phones import mask_email

ENV_USERNAME = "LINKCLI_SMTP_USERNAME"
ENV_PASSWORD = "LINKCLI_SMTP_PASSWORD"
SECURITY_MODES = ("starttls", "ssl", "none")
ICS_FILENAME = "invite.ics"

# Non-ASCII bodies go out as quoted-printable/base64 rather than raw 8-bit: smtplib does
# not negotiate 8BITMIME, and a relay without it may mangle 8-bit bytes.
_POLICY = policy.SMTP.clone(cte_type="7bit")
# Reply codes that mean "you are not (properly) logged in", whatever command drew them.
_AUTH_CODES = {530, 534, 535, 538}
_EMAIL_RE = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")


class SmtpEmail:
    """An `EmailChannel` that delivers through one SMTP server (see `EmailConfig`)."""

    def __init__(
        self,
        config: EmailConfig,
        env: Mapping[str, str],
        *,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        """Keep the settings; nothing is connected until the first `send`.

        `ssl_context` overrides the default (system CA store, hostname checked), e.g. to
        trust a private CA; `local_hostname` is the EHLO name (default: this host's FQDN).
        """
        if config.security not in SECURITY_MODES:
            raise ValueError(
                f"email.security must be one of {', '.join(SECURITY_MODES)}, "
                f"not {config.security!r}"
            )
        self._config = config
        self._env = env
        self._username = env.get(ENV_USERNAME) or None
        self._password = env.get(ENV_PASSWORD) or None
        self._ssl_context = ssl_context
        self._local_hostname = local_hostname
        self._conn: smtplib.SMTP | None = None

    # -- public -------------------------------------------------------------------------

    def send(self, message: EmailMessage) -> SendResult:
        """Deliver one message to the server; raise `ChannelError` if it is not accepted.

        Success means the server took responsibility for the message (250 after DATA),
        not that it reached the inbox. `provider_id` is the Message-ID header.
        """
        mime, message_id = self._build(message)
        conn = self._connection(message.to)
        try:
            refused = conn.send_message(
                mime, from_addr=self._config.from_address, to_addrs=[message.to]
            )
        except smtplib.SMTPRecipientsRefused as exc:
            # smtplib already sent RSET, so the connection is clean and can be reused.
            code, text = next(iter(exc.recipients.values()), (0, b""))
            raise self._error(code, text, message.to, bad_contact=True) from None
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            # Also followed by RSET inside smtplib: keep the connection.
            raise self._error(exc.smtp_code, exc.smtp_error, message.to) from None
        except smtplib.SMTPNotSupportedError as exc:
            # e.g. a non-ASCII address and a server without SMTPUTF8: this message only.
            raise ChannelError(
                self._scrub(f"server cannot accept this message: {exc}", message.to),
                kind="rejected",
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise self._transport_error(exc, message.to) from None
        if refused:  # cannot happen with one recipient, but never report a refusal as sent
            code, text = next(iter(refused.values()))
            raise self._error(code, text, message.to, bad_contact=True)
        return SendResult(provider_id=message_id, status="sent")

    def close(self) -> None:
        """Say QUIT and drop the connection, if one is open. Safe to call twice."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            conn.close()

    def __enter__(self) -> SmtpEmail:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def check(self) -> str:
        """Connect, secure and log in as the first send would, then stay ready (nothing is
        sent); raises ChannelError saying what was refused."""
        self._connection("")
        return "connected and logged in" if self._username else "connected"

    # -- connection ---------------------------------------------------------------------

    def _connection(self, to: str) -> smtplib.SMTP:
        """The open connection, checked with NOOP, or a new logged-in one."""
        if self._conn is not None:
            try:
                # Servers drop idle sessions; finding out now is safe, whereas finding
                # out after DATA would leave us unsure whether the message was taken.
                if self._conn.noop()[0] == 250:
                    return self._conn
            except (smtplib.SMTPException, OSError):
                pass
            self._drop()
        try:
            self._conn = self._open()
        except ChannelError:
            raise
        except (smtplib.SMTPException, OSError) as exc:
            raise self._transport_error(exc, to) from None
        return self._conn

    def _open(self) -> smtplib.SMTP:
        """Connect, secure and log in according to the config; ChannelError on refusal."""
        cfg = self._config
        if self._username and not self._password:
            raise ChannelError(f"{ENV_USERNAME} is set but {ENV_PASSWORD} is not", kind="auth")
        conn: smtplib.SMTP
        if cfg.security == "ssl":
            conn = smtplib.SMTP_SSL(
                cfg.smtp_host,
                cfg.smtp_port,
                local_hostname=self._local_hostname,
                timeout=cfg.timeout,
                context=self._context(),
            )
        else:
            conn = smtplib.SMTP(
                cfg.smtp_host,
                cfg.smtp_port,
                local_hostname=self._local_hostname,
                timeout=cfg.timeout,
            )
        try:
            conn.ehlo()
            if cfg.security == "starttls":
                if not conn.has_extn("starttls"):
                    # Transient, not rejected: it is the server (or the port in the
                    # config), not this message, so every pending message stays queued
                    # and goes out once the operator fixes it. Never fall back to
                    # plaintext: the message carries a client's session link.
                    raise ChannelError(
                        f"{cfg.smtp_host}:{cfg.smtp_port} does not offer STARTTLS "
                        '(security = "starttls"); refusing to send in plaintext. '
                        'Check smtp_port, or use security = "ssl" for port 465',
                        kind="transient",
                        code="no-starttls",
                    )
                conn.starttls(context=self._context())
                conn.ehlo()
            if self._username and self._password:
                try:
                    conn.login(self._username, self._password)
                except smtplib.SMTPAuthenticationError as exc:
                    raise ChannelError(
                        self._scrub(
                            f"SMTP login as {self._username!r} refused: "
                            f"{exc.smtp_code} {_text(exc.smtp_error)}",
                            None,
                        ),
                        kind="auth",
                        code=str(exc.smtp_code),
                    ) from None
                except smtplib.SMTPNotSupportedError:
                    raise ChannelError(
                        f"{cfg.smtp_host} does not offer AUTH on this connection "
                        f"but {ENV_USERNAME} is set",
                        kind="auth",
                    ) from None
                except smtplib.SMTPException as exc:
                    if isinstance(
                        exc, (smtplib.SMTPResponseException, smtplib.SMTPServerDisconnected)
                    ):
                        raise  # mapped by code / as transient by the caller
                    # "No suitable authentication method found."
                    raise ChannelError(f"SMTP login impossible: {exc}", kind="auth") from None
        except BaseException:
            conn.close()
            raise
        return conn

    def _context(self) -> ssl.SSLContext:
        return self._ssl_context or ssl.create_default_context()

    def _drop(self) -> None:
        """Forget a connection that is broken or in an unknown state (no QUIT)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()

    # -- message ------------------------------------------------------------------------

    def _build(self, message: EmailMessage) -> tuple[MimeMessage, str]:
        """The MIME message and its Message-ID.

        Shape with an invite (what Google Calendar itself sends, read correctly by
        Outlook, Gmail and Apple Mail):

            multipart/mixed
              multipart/alternative
                text/plain
                text/html
                text/calendar; method=REQUEST|CANCEL   <- the inline invite
              application/ics; name=invite.ics         <- the same bytes, as a file

        Without an invite it is just the multipart/alternative.
        """
        cfg = self._config
        message_id = make_message_id(message.key, cfg.from_address)
        mime = MimeMessage(policy=_POLICY)
        try:
            mime["From"] = Address(
                display_name=_one_line(cfg.from_name or ""), addr_spec=cfg.from_address
            )
        except (ValueError, IndexError) as exc:
            raise ChannelError(
                f"email.from_address {cfg.from_address!r} is not an address ({exc})",
                kind="auth",  # a config error: stop the run rather than fail every message
            ) from None
        try:
            mime["To"] = Address(display_name=_one_line(message.to_name), addr_spec=message.to)
        except (ValueError, IndexError):
            raise ChannelError(
                f"not a usable email address: {mask_email(message.to)}", kind="bad_contact"
            ) from None
        mime["Subject"] = _one_line(message.subject)
        mime["Date"] = format_datetime(clock.now(self._env))
        mime["Message-ID"] = message_id
        mime["X-Linkcli-Key"] = _one_line(message.key)
        # RFC 3834: tells out-of-office responders not to answer a reminder robot.
        mime["Auto-Submitted"] = "auto-generated"
        mime.set_content(message.text)
        mime.add_alternative(message.html, subtype="html")
        if message.ics is not None:
            method = (message.ics_method or "REQUEST").strip().upper()
            # base64 keeps the CRLFs and folded lines of the calendar byte-exact;
            # Exchange sends invites the same way.
            mime.add_alternative(
                message.ics,
                maintype="text",
                subtype="calendar",
                cte="base64",
                params={"method": method, "charset": "utf-8"},
            )
            mime.make_mixed()
            mime.add_attachment(
                message.ics,
                maintype="application",
                subtype="ics",
                cte="base64",
                filename=ICS_FILENAME,
                params={"name": ICS_FILENAME},
            )
        return mime, message_id

    # -- errors -------------------------------------------------------------------------

    def _error(
        self, code: int, text: bytes | str, to: str | None, *, bad_contact: bool = False
    ) -> ChannelError:
        """Map one SMTP reply to a ChannelError kind."""
        kind: ErrorKind
        if code in _AUTH_CODES:
            kind = "auth"
        elif 400 <= code < 500:
            kind = "transient"
        elif 500 <= code < 600:
            kind = "bad_contact" if bad_contact else "rejected"
        else:
            kind = "transient"
        if kind == "auth":
            what = f"{self._config.smtp_host} requires a valid login"
        else:
            what = ("recipient refused" if bad_contact else "message refused") + f" for {to}"
        reason = self._scrub(f"{what}: {code} {_text(text)}", to)
        return ChannelError(reason, kind=kind, code=str(code) if code else None)

    def _transport_error(self, exc: BaseException, to: str | None) -> ChannelError:
        """Map a connection-level failure (network, TLS, dropped session)."""
        where = f"{self._config.smtp_host}:{self._config.smtp_port}"
        if isinstance(exc, ssl.SSLCertVerificationError):
            # Fatal, not transient: sending client data to a server we cannot identify
            # must stop the run until an operator looks at it.
            return ChannelError(
                f"TLS certificate of {where} could not be verified: {exc.verify_message}",
                kind="auth",
            )
        if isinstance(exc, (smtplib.SMTPConnectError, smtplib.SMTPHeloError)):
            # A refusal at greeting time is about us or the server, not the message.
            reason = f"{where} refused the session: {exc.smtp_code} {_text(exc.smtp_error)}"
            return ChannelError(self._scrub(reason, to), kind="transient", code=str(exc.smtp_code))
        if isinstance(exc, smtplib.SMTPResponseException):
            return self._error(exc.smtp_code, exc.smtp_error, to)
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            reason = f"{where} closed the connection: {exc}"
        elif isinstance(exc, TimeoutError):
            reason = f"{where} timed out after {self._config.timeout:g}s"
        elif isinstance(exc, ConnectionRefusedError):
            reason = f"{where} refused the connection"
        elif isinstance(exc, ssl.SSLError):
            reason = (
                f"TLS with {where} failed ({exc.reason or exc}); "
                f'check that smtp_port matches security = "{self._config.security}"'
            )
        elif isinstance(exc, socket.gaierror):
            reason = f"cannot resolve {self._config.smtp_host}: {exc.strerror}"
        else:
            reason = f"{where}: {type(exc).__name__}: {exc}"
        return ChannelError(self._scrub(reason, to), kind="transient")

    def _scrub(self, reason: str, to: str | None) -> str:
        """Remove the password (plain and as AUTH LOGIN sends it) and mask addresses."""
        if self._password:
            secrets = [self._password, base64.b64encode(self._password.encode()).decode()]
            for secret in secrets:
                reason = reason.replace(secret, "***")
        if to:
            masked = mask_email(to)
            reason = re.sub(re.escape(to), lambda _m: masked, reason, flags=re.IGNORECASE)
        # Servers echo addresses in their replies; mask any the exact match missed.
        return _EMAIL_RE.sub(lambda m: _mask_unless_ours(m.group(0), self._config), reason)


def make_message_id(key: str, from_address: str) -> str:
    """The Message-ID for a send key: ``<linkcli.<hash>@<domain of from_address>>``.

    Derived from the key rather than random so that a run that crashed after the
    server accepted a message re-sends it with the same Message-ID (Gmail and others
    drop such duplicates), and so the id is known before sending.
    """
    domain = from_address.rpartition("@")[2].strip().lower() or "localhost"
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        domain = "localhost"
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<linkcli.{digest}@{domain}>"


def _mask_unless_ours(address: str, config: EmailConfig) -> str:
    if address.lower() == config.from_address.lower():
        return address  # the sender's own address is not personal data
    return mask_email(address)


def _one_line(value: str) -> str:
    """Header-safe text: CR/LF in client data must not start a new header."""
    return " ".join(value.split())


def _text(value: bytes | str) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value
