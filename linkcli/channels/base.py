"""What every channel accepts and returns, and how it reports a failure.

A channel has one verb, `send`. It raises `ChannelError` saying whether the failure is
permanent (never retry: the number is invalid, the client opted out) or transient (retry
on a later run), and what kind it is, so dispatch can act on it without knowing the
provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

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
        http_status: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
        self.code = code
        self.http_status = http_status  # the provider's HTTP answer, when there was one

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


# -- optional abilities --------------------------------------------------------------
# A channel has one verb; what else it can do it says by implementing one of these
# protocols, checked with isinstance, so no caller probes attributes by name.


@dataclass(frozen=True)
class InboundReply:
    """One message a client sent to the practice (e.g. STOP)."""

    from_number: str
    body: str
    sent_at: datetime  # UTC, timezone-aware
    sid: str


@runtime_checkable
class ReadsReplies(Protocol):
    """Can list the messages clients sent to the practice (STOP/START without a webhook)."""

    def inbound_since(self, since: datetime) -> list[InboundReply]: ...


@runtime_checkable
class FindsSent(Protocol):
    """Can say whether a message already reached the provider: one message (crash
    recovery), or everything sent since a moment (a new store's catch-up)."""

    def find_sent(self, to: str, since: datetime, body: str) -> SendResult | None: ...

    def sent_since(self, since: datetime) -> dict[tuple[str, str], SendResult]: ...


@runtime_checkable
class ReportsDelivery(Protocol):
    """Can report a sent message's final fate, and classify the provider's error code
    the same way a refusal at send time is classified (one owner for the codes)."""

    def delivery_status(self, sid: str) -> tuple[str, str | None]: ...

    def classify(self, code: str | None) -> ErrorKind | None: ...


@runtime_checkable
class HealthChecked(Protocol):
    """Can prove its setup works without sending anything (for `doctor`): returns one
    line saying what answered; raises ChannelError saying what did not."""

    def check(self) -> str: ...
