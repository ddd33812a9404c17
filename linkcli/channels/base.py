"""What every channel accepts and returns, and how it reports a failure.

A channel has one verb, `send`. It raises `ChannelError` saying whether the failure is
permanent (never retry: the number is invalid, the client opted out) or transient (retry
on a later run), and what kind it is, so dispatch can act on it without knowing the
provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

ErrorKind = Literal["opted_out", "bad_contact", "auth", "transient", "rejected"]


@dataclass(frozen=True)
class SmsMessage:
    """One text message to one E.164 number."""

    to: str
    body: str
    key: str  # the send's unique key; lets a crashed run find its message again


@dataclass(frozen=True)
class EmailMessage:
    """One email: plain text and HTML alternatives, optionally a calendar attachment."""

    to: str
    to_name: str
    subject: str
    text: str
    html: str
    key: str
    ics: bytes | None = None
    ics_method: str | None = None  # REQUEST or CANCEL, mirrored in the MIME part


@dataclass(frozen=True)
class SendResult:
    """What the provider said when it accepted a message."""

    provider_id: str | None
    status: str = "sent"  # the provider's own word: queued, accepted, sent, ...
    segments: int | None = None


class ChannelError(Exception):
    """A send failed. `permanent` failures are never retried."""

    def __init__(
        self,
        reason: str,
        *,
        kind: ErrorKind,
        code: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
        self.code = code

    @property
    def permanent(self) -> bool:
        """True when retrying cannot help (bad number, opted out, refused)."""
        return self.kind in ("opted_out", "bad_contact", "rejected")

    @property
    def unanswered(self) -> bool:
        """True when the request went out but no answer came: the provider may have
        accepted the message, so it is looked up before any second attempt."""
        return self.code == "unanswered"

    @property
    def fatal(self) -> bool:
        """True when the whole run must stop (credentials refused)."""
        return self.kind == "auth"


class SmsChannel(Protocol):
    """Sends one SMS."""

    def send(self, message: SmsMessage) -> SendResult: ...


class EmailChannel(Protocol):
    """Sends one email."""

    def send(self, message: EmailMessage) -> SendResult: ...
