"""The `rest` source: any paged JSON API, read through a field mapping the config declares.

It serves partner and enterprise APIs and integration gateways (an EHR export behind an
API gateway, an iPaaS flow) whose JSON shape linkcli cannot know in advance. The config
names where each canonical field lives in a record (`[source.map]`, dotted paths with
list indexes); each record is mapped into the canonical dict of DESIGN.md and then parsed
by `parse_appointment`, so validation is shared with every other source.

A page that cannot be read (HTTP error, timeout, not JSON, no list where `items` points)
fails the whole listing (exit 3, nothing changed); one record that maps badly is reported
and skipped, keeping its id so it never looks like a cancellation.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

import httpx

from linkcli.config import Config
from linkcli.core.model import RecordError, parse_appointment
from linkcli.errors import ConfigError, SourceError
from linkcli.sources.base import Listing, Window
from linkcli.sources.http import HttpSource, secret
from linkcli.sources.rest_settings import (
    DEFAULT_TOKEN_ENV,
    RestSettings,
    lookup,
    parse_settings,
)

_TRUE = ("true", "yes", "y", "1", "on")
_FALSE = ("false", "no", "n", "0", "off")


def _text(value: Any) -> str | None:
    """A scalar as trimmed text (ids are often numbers); objects and lists are absent."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    return None


def _code(value: Any) -> str | None:
    """A status/format value as a lookup key; booleans read "true"/"false" (IsCanceled)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _text(value)


class RecordMapper:
    """Turns one source record into the canonical dict; raises RecordError when it can't."""

    def __init__(self, settings: RestSettings) -> None:
        self.s = settings
        self.f = settings.fields

    def get(self, data: Any, key: str) -> Any:
        """The raw value for a mapping key (the first path), or None when unmapped."""
        ref = self.f.get(key)
        return lookup(data, ref.paths[0]) if ref else None

    def text(self, data: Any, key: str) -> str | None:
        """Text for a key; several paths are joined with a space (first + last name)."""
        ref = self.f.get(key)
        if ref is None:
            return None
        parts = [_text(lookup(data, p)) for p in ref.paths]
        joined = " ".join(p for p in parts if p)
        return joined or None

    def where(self, key: str) -> str:
        """`source.map.KEY = "path"`, so a problem line says which mapping to check."""
        return f"source.map.{key} = {self.f[key].text!r}"

    def map(self, record: Any) -> dict[str, Any]:
        """The canonical dict for one record (validated afterwards by parse_appointment)."""
        if not isinstance(record, dict):
            raise RecordError(None, f"expected an object, found {type(record).__name__}")
        rid = self.text(record, "id")
        if not rid:
            raise RecordError(None, f"id is missing ({self.where('id')})")
        if self.get(record, "start") is None:
            raise RecordError(rid, f"start is missing ({self.where('start')})")
        therapist_id = self.text(record, "therapist_id") or self.s.therapist
        if not therapist_id:
            raise RecordError(rid, f"therapist id is missing ({self.where('therapist_id')})")
        return {
            "id": rid,
            "status": self.coded(record, "status", self.s.status_map, rid),
            "start": self.instant(record, "start"),
            "end": self.instant(record, "end"),
            "updated_at": self.instant(record, "updated_at"),
            "format": self.coded(record, "format", self.s.format_map, rid),
            "telehealth_url": self.text(record, "link"),
            "therapist": {
                "id": therapist_id,
                "name": self.text(record, "therapist_name"),
                "display_name": self.text(record, "therapist_display_name"),
            },
            "participants": [self.participant(p, rid) for p in self.clients(record, rid)],
        }

    def clients(self, record: dict[str, Any], rid: str) -> list[Any]:
        """The participant objects: the mapped list, or the record itself (flat fields)."""
        if "participants" in self.f:
            found = self.get(record, "participants")
            if found is None:
                return []
            if not isinstance(found, list):
                raise RecordError(rid, f"participants is not a list ({self.where('participants')})")
            return found
        if "participant_id" not in self.f:
            return []  # no client fields mapped: a contacts directory supplies them
        return [record]

    def participant(self, raw: Any, rid: str) -> dict[str, Any]:
        """One canonical participant; a client without an id cannot get a sequence."""
        if not isinstance(raw, dict):
            raise RecordError(rid, "each participant must be an object")
        pid = self.text(raw, "participant_id")
        if not pid:
            raise RecordError(rid, f"a client has no id ({self.where('participant_id')})")
        return {
            "id": pid,
            "name": self.text(raw, "name"),
            "first_name": self.text(raw, "first_name"),
            "email": self.text(raw, "email"),
            "mobile": self.text(raw, "mobile"),
            "timezone": self.text(raw, "timezone"),
            "language": self.text(raw, "language"),
            "sms_opt_in": self.flag(raw, "sms_opt_in", rid),
            "email_opt_in": self.flag(raw, "email_opt_in", rid),
        }

    def coded(
        self, record: dict[str, Any], key: str, table: Mapping[str, str], rid: str
    ) -> str | None:
        """A status/format through its *_map; unmapped values go on to the model's aliases."""
        raw = self.get(record, key)
        if isinstance(raw, dict | list):
            # Never guess: read as absent, a canceled session would become "scheduled".
            raise RecordError(
                rid,
                f"{key} is an {'object' if isinstance(raw, dict) else 'array'}, "
                f"not one value ({self.where(key)}; point it at the value)",
            )
        value = _code(raw)
        if value is None:
            return None
        return table.get(value.lower(), value)

    def instant(self, record: dict[str, Any], key: str) -> Any:
        """A time, given the configured zone when the source writes local times bare."""
        value = self.get(record, key)
        if self.s.timezone is None or not isinstance(value, str):
            return value  # parse_appointment reports a time without an offset
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return value
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=self.s.timezone).isoformat()
        return value

    def flag(self, raw: dict[str, Any], key: str, rid: str) -> bool | None:
        """An opt-in as true/false/None; APIs write them as booleans, 0/1 or "Yes"/"No"."""
        value = self.get(raw, key)
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered == "":
                return None
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
        raise RecordError(rid, f"{key} {value!r} is not a yes/no value ({self.where(key)})")


class RestSource(HttpSource):
    """Reads a paged JSON API and maps each record through `[source.map]`."""

    def __init__(
        self,
        settings: RestSettings,
        token: str | None,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now: datetime | None = None,
    ) -> None:
        headers: dict[str, str] = {}
        if token is not None and settings.auth == "bearer":
            headers["Authorization"] = f"Bearer {token}"
        elif token is not None and settings.auth == "header" and settings.auth_header:
            headers[settings.auth_header] = token
        host = urlparse(settings.base_url).hostname or settings.base_url
        super().__init__(
            f"rest {host}", settings.base_url, headers, settings.timeout, client, sleep, now
        )
        self.settings = settings
        self.mapper = RecordMapper(settings)
        self.origin = _origin(httpx.URL(settings.base_url))

    def first_url(self, window: Window) -> httpx.URL:
        """Page 1: base_url + path, the extra params and the window (ISO 8601, UTC)."""
        s = self.settings
        params = dict(s.params)
        if s.start_param:
            params[s.start_param] = _iso(window.start)
        if s.end_param:
            params[s.end_param] = _iso(window.end)
        # No path: base_url is the endpoint itself (url("") would add a trailing slash).
        # Merged by hand: httpx would replace a query string already written in `path`.
        return httpx.URL(self.url(s.path) if s.path else s.base_url).copy_merge_params(params)

    def fetch(self, window: Window) -> Listing:
        """Every mapped record whose start falls in the window, across all pages."""
        listing = Listing()
        first = self.first_url(window)
        url: httpx.URL | None = first
        visited = {str(first)}
        page = number = 0
        while url is not None:
            page += 1
            if page > self.settings.max_pages:
                raise SourceError(
                    f"{self.name}: more than {self.settings.max_pages} pages "
                    "(source.max_pages); nothing was changed"
                )
            body = self.read_page(url, page)
            for record in self.page_items(body, page):
                number += 1
                self.take(record, f"record #{number} (page {page})", window, listing)
            url = self.next_url(body, url, first, page)
            if url is not None:
                if str(url) in visited:  # the API handed out a page it already gave
                    raise SourceError(
                        f"{self.name}: page {page} links back to an earlier "
                        "page; the listing would never end; nothing was changed"
                    )
                visited.add(str(url))
        return listing

    def read_page(self, url: httpx.URL, page: int) -> Any:
        """One page's JSON; a failure after page 1 says which page it was."""
        try:
            return self.get_json(str(url))
        except SourceError as exc:
            if page == 1:
                raise
            raise SourceError(f"{exc.message} (reading page {page})") from None

    def page_items(self, body: Any, page: int) -> list[Any]:
        """The records of one page; no list where `items` points fails the listing."""
        found = lookup(body, self.settings.items)
        if isinstance(found, list):
            return found
        where = f"source.items = {'.'.join(self.settings.items)!r}"
        if not self.settings.items:
            hint = "the page is not a JSON list; set source.items to the path of the list"
        elif found is None:
            hint = f"page {page} has nothing at {where}"
        else:
            hint = f"page {page} has a {type(found).__name__}, not a list, at {where}"
        raise SourceError(f"{self.name}: {hint}; nothing was changed")

    def take(self, record: Any, label: str, window: Window, listing: Listing) -> None:
        """Map, parse and window one record, or report it skipped."""
        try:
            appointment = parse_appointment(self.mapper.map(record))
        except RecordError as exc:
            message = str(exc)
            if exc.message.startswith("status "):
                message += "; map it in [source.status_map]"
            elif exc.message.startswith("format "):
                message += "; map it in [source.format_map]"
            listing.skip(f"{self.name}: {label} skipped: {message}", exc.record_id)
            return
        # The API may read the window differently (by overlap, by end, in local days), so
        # the half-open window on the start is applied here as for every source.
        listing.add(appointment, window, f"{self.name}: {label}")

    def next_url(
        self, body: Any, current: httpx.URL, first: httpx.URL, page: int
    ) -> httpx.URL | None:
        """The following page: a next link (same host as base_url) or page 1 + cursor."""
        s = self.settings
        if s.next is None:
            return None
        value = lookup(body, s.next)
        if value is None or value == "":
            return None
        if s.cursor_param:
            cursor = _text(value)
            if cursor is None:
                raise SourceError(
                    f"{self.name}: page {page} has {value!r} at source.next = "
                    f"{s.next_text!r}, not a cursor; nothing was changed"
                )
            return first.copy_merge_params({s.cursor_param: cursor})
        if not isinstance(value, str):
            raise SourceError(
                f"{self.name}: page {page} has a {type(value).__name__} at "
                f"source.next = {s.next_text!r}, not a URL (a cursor needs "
                "source.cursor_param); nothing was changed"
            )
        target = current.join(value.strip())  # next links may be relative
        if _origin(target) != self.origin:
            # The token is for base_url's host; a link elsewhere never gets it.
            raise SourceError(
                f"{self.name}: page {page}'s next link leads to another host "
                f"({target.host}); refused; nothing was changed"
            )
        return target

    def _http_error(self, response: httpx.Response) -> str:
        # The base wording, plus where the token comes from (or that none was sent).
        message = super()._http_error(response)
        if response.status_code in (401, 403):
            if self.settings.auth == "none":
                message += '; source.auth = "none" sent no token'
            else:
                message += f"; it is read from ${self.settings.token_env}"
        return message


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    # httpx leaves the default port out; ":443" written in a next link is the same place.
    return (url.scheme, url.host, url.port or {"https": 443, "http": 80}.get(url.scheme))


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def build(
    config: Config,
    env: Mapping[str, str],
    now: datetime,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RestSource:
    """The rest source for this config; its token comes from the environment only."""
    try:
        settings = parse_settings(config.source.settings)
    except ConfigError as exc:
        raise ConfigError(exc.problems, str(config.path)) from None
    token = None
    if settings.auth != "none":
        token = secret(env, config.source.settings, "token_env", DEFAULT_TOKEN_ENV)
    return RestSource(settings, token, client=client, sleep=sleep, now=now)
