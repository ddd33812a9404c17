"""A `twilio.http.HttpClient` that speaks through one pooled `httpx.Client`.

Why not twilio's own `TwilioHttpClient`: it uses `requests` (which respx cannot
intercept, so tests would need the network or monkeypatching), and it logs every
request's query parameters - phone numbers, for message lists - at INFO level.
This client logs only method, path and status (at DEBUG), and turns network
failures into `TwilioTransportError`, which the channel maps to a transient
`ChannelError`.
"""

from __future__ import annotations

import functools
import logging
import ssl
from typing import Any
from urllib.parse import urlsplit

import httpx
from twilio.base.exceptions import TwilioException
from twilio.http import HttpClient
from twilio.http.response import Response

_logger = logging.getLogger("linkcli.twilio.http")

_JSON_TYPES = ("application/json", "application/scim+json")


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The verifying TLS context, built once: loading the CA bundle takes ~50 ms."""
    return httpx.create_ssl_context()


class TwilioTransportError(TwilioException):
    """The request never got an HTTP answer (timeout, refused, reset, TLS failure).

    The message names the failure class and the host only: the URL's query string can
    hold phone numbers, and the exception text ends up in logs.
    """

    def __init__(self, reason: str, sent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        # True when the request went out and the answer never came: Twilio may hold
        # the message, so the caller must look before sending it again.
        self.sent = sent


class HttpxTwilioClient(HttpClient):
    """Synchronous twilio HttpClient backed by a single, connection-pooling httpx.Client."""

    def __init__(
        self,
        timeout: float | None = 10.0,
        *,
        client: httpx.Client | None = None,
        logger: logging.Logger = _logger,
    ) -> None:
        """`timeout` (seconds) applies to connect, read, write and pool waits alike."""
        super().__init__(logger, is_async=False, timeout=timeout)
        # One client for the channel's lifetime: a run sends many messages, and reusing
        # the TLS connection saves a handshake per message. Proxy/CA environment
        # variables are honoured, as twilio's requests-based client does.
        self._client = client or httpx.Client(timeout=timeout, verify=_tls_context())

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        """Send one request; return twilio's `Response(status_code, text, headers)`.

        Raises `TwilioTransportError` when no HTTP response arrived.
        """
        if timeout is not None and timeout <= 0:
            raise ValueError(timeout)  # same contract as TwilioHttpClient

        kwargs: dict[str, Any] = {
            "params": params,
            "headers": headers,
            "follow_redirects": allow_redirects,
            "timeout": timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
        }
        if auth is not None:
            kwargs["auth"] = auth
        content_type = (headers or {}).get("Content-Type")
        if content_type in _JSON_TYPES:
            kwargs["json"] = data
        else:
            # dict values that are lists (MediaUrl, PersistentAction) become repeated
            # form fields, as requests does.
            kwargs["data"] = data

        try:
            response = self._client.request(method.upper(), url, **kwargs)
        except httpx.TransportError as exc:
            # TransportError covers TimeoutException, NetworkError (connect/read/write),
            # ProtocolError, ProxyError and UnsupportedProtocol.
            host = urlsplit(url).netloc or "?"
            raise TwilioTransportError(
                f"Twilio unreachable: {type(exc).__name__} ({host})",
                sent=not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout),
            ) from exc

        # Path only: the query string of a list request carries phone numbers.
        path = urlsplit(url).path
        self.logger.debug("%s %s -> HTTP %s", method.upper(), path, response.status_code)
        return Response(response.status_code, response.text, response.headers)

    def close(self) -> None:
        """Close the pooled connections."""
        self._client.close()
