"""Shared HTTP plumbing for the API sources: one client, one error vocabulary.

Every failure becomes a `SourceError` naming the source and the reason in words an
operator can act on (401/403: the token; 429: when to retry), so a broken read exits 3
and changes nothing.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from linkcli.errors import ConfigError, SourceError

MAX_RATE_WAIT = 60.0  # seconds: wait out a rate limit only when the reset is this close
USER_AGENT = "linkcli (telehealth link reminders)"


def secret(env: Mapping[str, str], settings: Mapping[str, Any], key: str, default: str) -> str:
    """Read a secret from the environment variable the config names (`key`, e.g. token_env)."""
    name = str(settings.get(key) or default)
    value = env.get(name, "").strip()
    if not value:
        # The config reader refuses names that are not variable names; a lower-case or
        # long one may still be a pasted token, so only a conventional name is echoed.
        shown = name if _CONVENTIONAL_NAME.match(name) else f"named by source.{key}"
        raise ConfigError(
            f"environment variable {shown} is not set (the source's secret; "
            f"name another with source.{key})"
        )
    return value


_CONVENTIONAL_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,39}$")


class HttpSource:
    """Base for API sources: a named httpx client with JSON reads and error mapping.

    `sleep` is the only way a source waits (a rate limit with a near reset); tests give
    it a recorder instead of a real pause.
    """

    def __init__(
        self,
        name: str,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        timeout: float = 20.0,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now: datetime | None = None,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        # A client handed in (the run context's seam) belongs to whoever made it and
        # outlives this source; only a client made here is closed here.
        self._owns_client = client is None
        self.client = client or httpx.Client(timeout=timeout, follow_redirects=False)
        self.headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
        self.sleep = sleep
        # The run's instant (clock.py is the only clock): absolute rate-limit resets are
        # read against it. Sources always get one; None only in a hand-built test source.
        self.now = now
        self.requests = 0  # counted for the figures in the docs and benchmarks
        self.rate_waited = False

    @property
    def read_at(self) -> datetime:
        """The run's instant; a source built without one cannot judge record ages."""
        if self.now is None:
            raise SourceError(f"{self.name}: built without the run's clock (a bug)")
        return self.now

    def url(self, path: str) -> str:
        """An absolute URL for `path` (absolute URLs, e.g. next-page links, pass through)."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def get_json(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        retry_auth: Callable[[], Mapping[str, str]] | None = None,
    ) -> Any:
        """GET and parse JSON; raise SourceError for anything but a 2xx JSON answer.

        `retry_auth`, when given, is called once on a 401 to get fresh auth headers (an
        expired cached OAuth token) before the read counts as failed.
        """
        url = self.url(path)
        auth_retried = False
        extra = dict(headers or {})
        while True:
            response = self._get(url, params, extra)
            if response.status_code == 401 and retry_auth and not auth_retried:
                auth_retried = True
                extra.update(retry_auth())
                continue
            if response.status_code == 429 and not self.rate_waited:
                delay = rate_limit_delay(response.headers, self.now)
                if delay is not None and delay <= MAX_RATE_WAIT:
                    self.rate_waited = True  # once per sync, never once per request
                    self.sleep(max(delay, 0.0))
                    continue
            break
        if response.status_code >= 400:
            raise SourceError(self._http_error(response))
        try:
            return response.json()
        except ValueError:
            raise SourceError(
                f"{self.name}: {response.request.url.path} did not return JSON; nothing was changed"
            ) from None

    def _get(
        self, url: str, params: Mapping[str, Any] | None, extra: Mapping[str, str]
    ) -> httpx.Response:
        self.requests += 1
        try:
            return self.client.get(url, params=params, headers={**self.headers, **extra})
        except httpx.TimeoutException:
            raise SourceError(
                f"{self.name}: timed out reading {_where(url)}; nothing was "
                "changed (will retry next sync)"
            ) from None
        except httpx.HTTPError as exc:
            raise SourceError(
                f"{self.name}: cannot reach {_where(url)} ({type(exc).__name__})"
                "; nothing was changed"
            ) from None

    def _http_error(self, response: httpx.Response) -> str:
        status = response.status_code
        where = response.request.url.path
        if status in (401, 403):
            return (
                f"{self.name}: HTTP {status} from {where}: the token was refused; check "
                "the token in the environment and its permissions"
            )
        if status == 429:
            delay = rate_limit_delay(response.headers, self.now)
            when = f" in {int(delay) + 1} s" if delay is not None else " later"
            return f"{self.name}: rate limited (HTTP 429); retry{when}; nothing was changed"
        return f"{self.name}: HTTP {status} from {where}; nothing was changed"

    def close(self) -> None:
        """Release the connection pool (only a client this source made)."""
        if self._owns_client:
            self.client.close()


def rate_limit_delay(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds until a rate limit resets, from Retry-After or X-RateLimit-Reset headers.

    X-RateLimit-Reset is read as seconds-from-now when small, else as a Unix time
    compared with `now` (the run's clock value); an absolute reset with no `now` to
    compare it with is unknown (None), never guessed from the wall clock.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    raw = lowered.get("retry-after") or lowered.get("x-ratelimit-reset")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        value = float(raw)
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        return (when - now).total_seconds() if now is not None else None
    if value > 1_000_000_000:  # a Unix timestamp
        return value - now.timestamp() if now is not None else None
    return value


def _where(url: str) -> str:
    return httpx.URL(url).host or url
