"""Twilio SMS channel: send, read inbound replies (STOP), find a sent message, poll status.

This module imports twilio at top level; the caller imports this module lazily, only
when `sms.provider = "twilio"`, so no other part of linkcli pays for (or needs) twilio.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client

from linkcli.channels.base import (
    ChannelError,
    ErrorKind,
    InboundReply,
    SendResult,
    SmsMessage,
)
from linkcli.channels.httpx_twilio import HttpxTwilioClient, TwilioTransportError
from linkcli.config import SmsConfig
from linkcli.core.phones import mask_phone
from linkcli.errors import ConfigError

ENV_ACCOUNT_SID = "TWILIO_ACCOUNT_SID"
ENV_AUTH_TOKEN = "TWILIO_AUTH_TOKEN"

# Twilio error code -> (kind, short description). Descriptions are ours, not Twilio's
# message, because Twilio's message can quote the phone number.
_KNOWN_CODES: dict[int, tuple[ErrorKind, str]] = {
    21610: ("opted_out", "unsubscribed recipient"),
    21211: ("bad_contact", "invalid 'To' phone number"),
    21614: ("bad_contact", "'To' number is not a valid mobile number"),
    21635: ("bad_contact", "'To' number is a landline"),
    30006: ("bad_contact", "landline or unreachable carrier"),
    # "not currently reachable via SMS" from our sender: retrying the same pair will
    # not change it; the practice needs another number for this client.
    21612: ("bad_contact", "'To' number not reachable via SMS"),
    # Geo permissions: the destination country is not enabled (or the country code is
    # wrong). Permanent for this contact until someone acts, so never retried.
    21408: ("bad_contact", "sending to this region is not enabled"),
    20003: ("auth", "authentication failed"),
    30003: ("transient", "unreachable destination handset"),
    20429: ("transient", "too many requests"),
}

# Real Twilio error codes have 5 digits. When the error body has no "code", twilio-python
# puts the HTTP status in `code`; a number this small is that fallback, not a code.
_MIN_TWILIO_CODE = 10000

_DIGITS = re.compile(r"\+?\d[\d\s().-]{5,}\d")


def error_kind(code: int | None, http_status: int | None = None) -> ErrorKind:
    """Classify a Twilio error code and/or HTTP status.

    Also usable for a message's asynchronous `error_code` (e.g. 30003, 30006) as
    returned by `TwilioSms.delivery_status`.
    """
    if code is not None and code in _KNOWN_CODES:
        return _KNOWN_CODES[code][0]
    if http_status == 401:
        return "auth"
    if http_status is not None and (http_status == 429 or http_status >= 500):
        return "transient"
    return "rejected"


def _utc(moment: datetime) -> datetime:
    """Aware UTC datetime; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class TwilioSms:
    """SMS channel over Twilio's Programmable Messaging REST API (2010-04-01)."""

    def __init__(self, config: SmsConfig, env: Mapping[str, str]) -> None:
        """Read credentials from `env` only; raise ConfigError naming what is missing."""
        sid = (env.get(ENV_ACCOUNT_SID) or "").strip()
        token = (env.get(ENV_AUTH_TOKEN) or "").strip()
        missing = [
            name for name, value in ((ENV_ACCOUNT_SID, sid), (ENV_AUTH_TOKEN, token)) if not value
        ]
        if missing:
            verb = "is" if len(missing) == 1 else "are"
            raise ConfigError(
                f"sms.provider is twilio but {' and '.join(missing)} {verb} not set "
                "in the environment"
            )
        if not config.from_number and not config.messaging_service_sid:
            raise ConfigError(
                "sms.provider is twilio but neither sms.from_number nor "
                "sms.messaging_service_sid is set"
            )
        base = urlsplit(config.api_base_url)
        if base.scheme not in ("http", "https") or not base.netloc:
            raise ConfigError(
                f"sms.api_base_url must be an http(s) URL, got {config.api_base_url!r}"
            )

        self._config = config
        self._token = token
        self._http = HttpxTwilioClient(timeout=config.timeout)
        # ClientBase does `environment or os.environ` and then reads TWILIO_EDGE and
        # TWILIO_REGION from it, which rewrite the host (api.<edge>.<region>.twilio.com,
        # and garbage for 127.0.0.1:PORT). A non-empty mapping holding only the
        # credentials keeps the process environment out.
        self._client = Client(
            sid,
            token,
            http_client=self._http,
            environment={ENV_ACCOUNT_SID: sid, ENV_AUTH_TOKEN: token},
        )
        # Domain.absolute_url reads `base_url` on every request (next-page URLs too),
        # so replacing it on the cached Api domain redirects all Messages calls.
        self._client.api.base_url = config.api_base_url.rstrip("/")
        self._messages = self._client.api.v2010.account.messages

    # -- sending -----------------------------------------------------------------------

    def send(self, message: SmsMessage) -> SendResult:
        """Create one outbound message; raise ChannelError when Twilio refuses it."""
        sender: dict[str, str] = (
            {"messaging_service_sid": self._config.messaging_service_sid}
            if self._config.messaging_service_sid
            else {"from_": self._config.from_number or ""}
        )
        try:
            created = self._messages.create(to=message.to, body=message.body, **sender)
        except TwilioException as exc:
            raise self._channel_error(exc, to=message.to) from None
        return _result(created)

    # -- reading back ------------------------------------------------------------------

    def inbound_since(self, since: datetime) -> list[InboundReply]:
        """Inbound messages to the practice number sent at or after `since`, oldest first.

        Without `sms.from_number` (messaging service only) every inbound message on the
        account is returned.
        """
        since = _utc(since)
        filters: dict[str, Any] = {"date_sent_after": since}
        if self._config.from_number:
            filters["to"] = self._config.from_number
        replies = [
            InboundReply(
                from_number=msg.from_ or "",
                body=msg.body or "",
                sent_at=when,
                sid=msg.sid or "",
            )
            for msg in self._list(**filters)
            if msg.direction == "inbound" and (when := _when(msg)) is not None and when >= since
        ]
        replies.sort(key=lambda reply: reply.sent_at)
        return replies

    def find_sent(self, to: str, since: datetime, body: str) -> SendResult | None:
        """The newest outbound message to `to` created at or after `since` with this body.

        For crash recovery: did the previous run's send reach Twilio? `since` is compared
        with Twilio's clock (whole seconds), so pass it with a margin for clock skew.
        """
        since = _utc(since)

        def newest_match(messages: list[Any]) -> SendResult | None:
            matches = [
                msg
                for msg in messages
                if (msg.direction or "").startswith("outbound")
                and msg.body == body
                and isinstance(msg.date_created, datetime)
                and msg.date_created >= since
            ]
            if not matches:
                return None
            return _result(max(matches, key=lambda msg: msg.date_created))

        found = newest_match(self._list(to=to, date_sent_after=since))
        if found is None:
            # A message still queued/accepted/scheduled has date_sent = null, which a
            # DateSent filter cannot match. Look once more at the newest messages to this
            # number without the date filter; a client receives few, so 50 is plenty.
            found = newest_match(self._list(to=to, limit=50))
        return found

    def sent_since(self, since: datetime) -> dict[tuple[str, str], SendResult]:
        """Outbound messages created at or after `since`, the newest per (to, body): what
        a deleted store may already have sent, read in one listing for a whole run."""
        since = _utc(since)
        # Queued messages have no date_sent yet, which the filter cannot match: the
        # newest messages are read once more without it.
        listed = [*self._list(date_sent_after=since), *self._list(limit=200)]
        outbound = [
            msg
            for msg in listed
            if (msg.direction or "").startswith("outbound")
            and msg.to
            and msg.body
            and isinstance(msg.date_created, datetime)
            and msg.date_created >= since
        ]
        outbound.sort(key=lambda msg: msg.date_created)
        return {(msg.to, msg.body): _result(msg) for msg in outbound}

    def delivery_status(self, sid: str) -> tuple[str, str | None]:
        """(status, error_code or None) of one message, e.g. ("undelivered", "30003")."""
        try:
            msg = self._messages(sid).fetch()
        except TwilioException as exc:
            raise self._channel_error(exc, to=None) from None
        code = msg.error_code
        return (msg.status or "unknown", str(code) if code is not None else None)

    def classify(self, code: str | None) -> ErrorKind | None:
        """The kind of a delivery report's error code, as `send` would classify it (a
        late 21612 marks the number unusable exactly like a refusal at send time)."""
        number = _code(code)
        return error_kind(number) if number is not None else None

    def check(self) -> str:
        """Read the account the credentials belong to (nothing is sent); its status,
        e.g. "active". Raises ChannelError carrying Twilio's HTTP status."""
        sid = self._client.username
        try:
            account = self._client.api.v2010.accounts(sid).fetch()
        except TwilioException as exc:
            raise self._channel_error(exc, to=None) from None
        return str(account.status or "unknown").lower()

    def close(self) -> None:
        """Release pooled connections."""
        self._http.close()

    def __enter__(self) -> TwilioSms:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------

    def _list(self, limit: int | None = None, **filters: Any) -> list[Any]:
        """Messages.json for the filters (every page unless `limit`), as MessageInstances."""
        try:
            # list() follows next_page_uri until it is null (or `limit` records);
            # page_size=1000, Twilio's maximum, keeps a busy day to one or two requests.
            page_size = min(limit, 1000) if limit else 1000
            return self._messages.list(limit=limit, page_size=page_size, **filters)
        except TwilioException as exc:
            raise self._channel_error(exc, to=filters.get("to")) from None

    def _channel_error(self, exc: TwilioException, *, to: str | None) -> ChannelError:
        """Translate any twilio failure into a ChannelError with a short, safe reason."""
        if isinstance(exc, TwilioTransportError):
            return ChannelError(
                exc.reason, kind="transient", code="unanswered" if exc.sent else None
            )

        status, code, detail = _error_facts(exc)
        known = _KNOWN_CODES.get(code) if code is not None else None
        kind = error_kind(code, status)
        if known:
            text = known[1]
        elif detail:
            text = self._scrub(detail)
        else:
            text = "request failed"
        label = f"Twilio error {code}" if code is not None else f"Twilio HTTP {status or '?'}"
        reason = f"{label}: {text}"
        if to:
            reason += f" (to {mask_phone(to)})"
        return ChannelError(
            reason, kind=kind, code=str(code) if code is not None else None, http_status=status
        )

    def _scrub(self, text: str) -> str:
        """Twilio's own message, shortened, with numbers masked and the token removed."""
        text = text.replace(self._token, "***")
        text = _DIGITS.sub(lambda m: mask_phone(m.group(0)), text)
        return text if len(text) <= 120 else text[:117] + "..."


def _error_facts(exc: TwilioException) -> tuple[int | None, int | None, str | None]:
    """(HTTP status, Twilio code, Twilio's message) from whatever twilio raised."""
    if isinstance(exc, TwilioRestException):
        # Version.exception builds msg as "Unable to create record: <Twilio message>".
        detail = str(exc.msg).split(": ", 1)[-1] if exc.msg else None
        return exc.status, _code(exc.code), detail
    status = getattr(exc, "status", None)
    if isinstance(status, int):
        # TwilioServiceException (RFC 9457 problem details, newer twilio 9.x releases).
        detail = getattr(exc, "detail", None) or getattr(exc, "title", None)
        return status, _code(getattr(exc, "code", None)), detail
    # Page.process_response raises TwilioException("Unable to fetch page", response)
    # for any non-200 list page: the Response is the second argument.
    response = exc.args[1] if len(exc.args) > 1 else None
    if isinstance(response, TwilioResponse):
        payload = _json(response.text)
        return response.status_code, _code(payload.get("code")), payload.get("message")
    return None, None, exc.args[0] if exc.args else None


def _code(value: object) -> int | None:
    """A real Twilio error code, or None (absent, or the HTTP-status fallback)."""
    try:
        code = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    return code if code >= _MIN_TWILIO_CODE else None


def _json(text: str) -> dict[str, Any]:
    try:
        payload = json.loads(text)
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _when(msg: Any) -> datetime | None:
    """When a message was sent; `date_sent` is null until Twilio hands it on."""
    when = msg.date_sent or msg.date_created
    return when if isinstance(when, datetime) else None


def _segments(value: object) -> int | None:
    """num_segments as int; "0" (messaging service, sender not yet chosen) is unknown."""
    try:
        count = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    return count or None


def _result(msg: Any) -> SendResult:
    return SendResult(
        provider_id=msg.sid,
        status=msg.status or "queued",
        segments=_segments(msg.num_segments),
    )


__all__ = [
    "InboundReply",
    "TwilioSms",
    "error_kind",
]
