"""`[source]` for kind "rest": its keys, the field map and how they are checked.

Kept apart from the source itself (rest.py, which needs httpx) so the config reader can
check these settings on every run, each problem with its key and line, without loading
an HTTP library on a quiet cron tick.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from linkcli.core.model import FORMATS, STATUSES
from linkcli.core.suggest import did_you_mean
from linkcli.errors import ConfigError
from linkcli.sources.settings import pages_problem, seconds_problem

DEFAULT_TOKEN_ENV = "LINKCLI_REST_TOKEN"
DEFAULT_MAX_PAGES = 200  # a runaway paging loop must end in an error, not a hung cron job
DEFAULT_TIMEOUT = 20.0
AUTH_MODES = ("bearer", "header", "none")

SETTING_KEYS = (
    "base_url",
    "path",
    "auth",
    "token_env",
    "auth_header",
    "params",
    "start_param",
    "end_param",
    "items",
    "next",
    "cursor_param",
    "max_pages",
    "timeout",
    "timezone",
    "therapist",
    "map",
    "status_map",
    "format_map",
)
# Paths resolved against the appointment record.
RECORD_KEYS = (
    "id",
    "status",
    "start",
    "end",
    "updated_at",
    "format",
    "link",
    "therapist_id",
    "therapist_name",
    "therapist_display_name",
    "participants",
)
# Paths resolved against each element of `participants`, or against the record itself
# when `participants` is not mapped (one client per record, flat fields).
PARTICIPANT_KEYS = (
    "participant_id",
    "name",
    "first_name",
    "email",
    "mobile",
    "timezone",
    "language",
    "sms_opt_in",
    "email_opt_in",
)
MAP_KEYS = RECORD_KEYS + PARTICIPANT_KEYS
REQUIRED_KEYS = ("id", "start")
# Names are often split in two source fields; these keys take a list of paths whose
# values are joined with a space (["PatientFirstName", "PatientLastName"]).
JOINABLE_KEYS = ("name", "first_name", "therapist_name", "therapist_display_name")

_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


@dataclass(frozen=True)
class FieldRef:
    """One mapping value: one or more parsed dotted paths, and the text as configured."""

    paths: tuple[tuple[str, ...], ...]
    text: str


@dataclass(frozen=True)
class RestSettings:
    """`[source]` for kind "rest", validated (see `parse_settings`)."""

    base_url: str
    fields: dict[str, FieldRef]
    path: str = ""
    auth: str = "bearer"
    token_env: str = DEFAULT_TOKEN_ENV
    auth_header: str | None = None
    params: tuple[tuple[str, str], ...] = ()
    start_param: str = "from"
    end_param: str = "to"
    items: tuple[str, ...] = ()
    next: tuple[str, ...] | None = None
    next_text: str = ""
    cursor_param: str | None = None
    max_pages: int = DEFAULT_MAX_PAGES
    timeout: float = DEFAULT_TIMEOUT
    timezone: ZoneInfo | None = None
    therapist: str | None = None
    status_map: dict[str, str] = field(default_factory=dict)
    format_map: dict[str, str] = field(default_factory=dict)


def parse_path(text: str) -> tuple[str, ...]:
    """Split a dotted path ("clients.0.email"); "" is the value itself. ValueError if bad."""
    if text == "":
        return ()
    parts = tuple(text.split("."))
    if any(not p.strip() for p in parts):
        raise ValueError(f"{text!r} is not a dotted path (an empty part between dots)")
    return parts


def lookup(data: Any, path: Iterable[str]) -> Any:
    """The value at a dotted path, or None when any step is absent.

    A step into a list is a non-negative index ("clients.0.email"); anything else that
    does not fit the data (a key into a list, a step into a string) is simply absent, so
    an optional field missing from one record never fails the listing.
    """
    node = data
    for part in path:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isascii() and part.isdigit():
            index = int(part)
            node = node[index] if index < len(node) else None
        else:
            return None
        if node is None:
            return None
    return node


def parse_settings(settings: Mapping[str, Any]) -> RestSettings:
    """Validate `[source]` for kind "rest"; raise ConfigError naming every bad key."""
    parsed, problems = read_settings(settings)
    if parsed is None:
        raise ConfigError([f"source.{key}: {message}" for key, message in problems])
    return parsed


def settings_problems(settings: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every problem of `[source]` for kind "rest", as (dotted key under source, message):
    what the config reader reports, each with its line."""
    return read_settings(settings)[1]


def read_settings(
    settings: Mapping[str, Any],
) -> tuple[RestSettings | None, list[tuple[str, str]]]:
    """The settings, or None with every problem found (never only the first)."""
    problems: list[tuple[str, str]] = []

    def bad(key: str, message: str) -> None:
        problems.append((key, message))

    for key in settings:
        if key not in SETTING_KEYS:
            hint = did_you_mean(key, SETTING_KEYS)
            bad(
                key,
                f"unknown key for the rest source{hint}; known keys: {', '.join(SETTING_KEYS)}",
            )

    def text(key: str, default: str | None = None, empty_ok: bool = True) -> str | None:
        value = settings.get(key, default)
        if value is None:
            return None
        if not isinstance(value, str) or (not empty_ok and not value.strip()):
            bad(key, f"must be a{'' if empty_ok else ' non-empty'} string, found {value!r}")
            return default
        return value

    base_url = text("base_url", empty_ok=False)
    if base_url is None:
        bad("base_url", "missing; the rest source needs the API's https address")
        base_url = ""
    elif not _safe_url(base_url):
        bad("base_url", f"{base_url!r} must be an https URL (plain http only for a loopback host)")
    path = text("path", "") or ""
    if urlparse(path).scheme:
        # The token goes to base_url's host only; a full URL here would bypass that.
        bad("path", f"{path!r} must be a path under base_url, not a full URL")

    auth = text("auth", "bearer") or "bearer"
    if auth not in AUTH_MODES:
        bad("auth", f"{auth!r} is not one of: {', '.join(AUTH_MODES)}")
    token_env = text("token_env", DEFAULT_TOKEN_ENV, empty_ok=False) or DEFAULT_TOKEN_ENV
    if auth == "none" and "token_env" in settings:
        bad("token_env", 'is set but auth = "none" sends no token; remove one of them')
    auth_header = text("auth_header", empty_ok=False)
    if auth == "header" and not auth_header:
        bad("auth_header", 'missing; auth = "header" needs the header\'s name, e.g. "X-API-Key"')
    elif auth_header and not _HEADER_NAME.match(auth_header):
        bad("auth_header", f"{auth_header!r} is not an HTTP header name")
    elif auth_header and auth != "header":
        bad("auth_header", 'is only used with auth = "header"')

    start_param = text("start_param", "from") or ""
    end_param = text("end_param", "to") or ""
    params: list[tuple[str, str]] = []
    raw_params = settings.get("params", {})
    if not isinstance(raw_params, dict):
        bad("params", "must be a table of query parameters, e.g. { limit = 50 }")
        raw_params = {}
    for name, value in raw_params.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        if not isinstance(value, str | int | float):
            bad(f"params.{name}", f"must be a string, number or boolean, found {value!r}")
            continue
        if name in (start_param, end_param):
            bad(f"params.{name}", "is also the window's start_param/end_param; remove one")
            continue
        params.append((name, str(value)))

    items: tuple[str, ...] = ()
    next_path: tuple[str, ...] | None = None
    items_text = text("items", "") or ""
    next_text = text("next", "") or ""
    try:
        items = parse_path(items_text)
    except ValueError as exc:
        bad("items", str(exc))
    try:
        next_path = parse_path(next_text) or None  # "" or absent: one page only
    except ValueError as exc:
        bad("next", str(exc))
    cursor_param = text("cursor_param", empty_ok=False)
    if cursor_param and not next_text:
        bad("cursor_param", 'needs next = "path.to.cursor" to know where the cursor is')

    # The same range checks as every other source's (sources/settings.py).
    max_pages = settings.get("max_pages", DEFAULT_MAX_PAGES)
    if (problem := pages_problem(max_pages)) is not None:
        bad("max_pages", problem)
        max_pages = DEFAULT_MAX_PAGES
    timeout = settings.get("timeout", DEFAULT_TIMEOUT)
    if (problem := seconds_problem(timeout)) is not None:
        bad("timeout", problem)
        timeout = DEFAULT_TIMEOUT
    zone: ZoneInfo | None = None
    zone_name = text("timezone", empty_ok=False)
    if zone_name:
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            bad("timezone", f"{zone_name!r} is not an IANA time zone (e.g. America/New_York)")
    therapist = text("therapist", empty_ok=False)

    fields = _parse_map(settings.get("map"), bad)
    if "therapist_id" not in fields and not therapist and "map" in settings:
        bad(
            "map.therapist_id",
            "missing; map the therapist's id, or set source.therapist "
            "to one id for every record (a single-therapist practice)",
        )
    status_map = _parse_codes(settings.get("status_map", {}), "status_map", STATUSES, bad)
    format_map = _parse_codes(settings.get("format_map", {}), "format_map", FORMATS, bad)

    if problems:
        return None, problems
    return RestSettings(
        base_url=base_url.rstrip("/"),
        fields=fields,
        path=path,
        auth=auth,
        token_env=token_env,
        auth_header=auth_header,
        params=tuple(params),
        start_param=start_param,
        end_param=end_param,
        items=items,
        next=next_path,
        next_text=next_text,
        cursor_param=cursor_param,
        max_pages=max_pages,
        timeout=float(timeout),
        timezone=zone,
        therapist=therapist,
        status_map=status_map,
        format_map=format_map,
    ), []


def _parse_map(raw: Any, bad: Callable[[str, str], None]) -> dict[str, FieldRef]:
    if raw is None:
        bad("map", "missing; add [source.map] with at least id and start (see config.example.toml)")
        return {}
    if not isinstance(raw, dict):
        bad("map", 'must be a table of field = "dotted.path"')
        return {}
    fields: dict[str, FieldRef] = {}
    for key, value in raw.items():
        if key not in MAP_KEYS:
            bad(f"map.{key}", f"unknown mapping key; known keys: {', '.join(MAP_KEYS)}")
            continue
        texts: list[str]
        if isinstance(value, str):
            texts = [value]
        elif (
            isinstance(value, list)
            and key in JOINABLE_KEYS
            and value
            and all(isinstance(v, str) for v in value)
        ):
            texts = list(value)
        else:
            what = "a dotted path or a list of them" if key in JOINABLE_KEYS else "a dotted path"
            bad(f"map.{key}", f"must be {what}, found {value!r}")
            continue
        try:
            paths = tuple(parse_path(t) for t in texts)
        except ValueError as exc:
            bad(f"map.{key}", str(exc))
            continue
        if any(not p for p in paths):
            bad(f"map.{key}", "must not be empty")
            continue
        fields[key] = FieldRef(paths, value if isinstance(value, str) else " + ".join(texts))
    for key in REQUIRED_KEYS:
        if key not in fields and key not in raw:
            bad(
                f"map.{key}",
                f"missing; the rest source cannot work without the {key} of each appointment",
            )
    participant_fields = [k for k in PARTICIPANT_KEYS if k in fields and k != "participant_id"]
    if (
        "participant_id" not in fields
        and "participant_id" not in raw
        and (participant_fields or "participants" in fields)
    ):
        bad(
            "map.participant_id",
            "missing; each client needs a stable id (mapped: "
            f"{', '.join(participant_fields) or 'participants'})",
        )
    return fields


def _parse_codes(
    raw: Any, key: str, allowed: tuple[str, ...], bad: Callable[[str, str], None]
) -> dict[str, str]:
    if not isinstance(raw, dict):
        bad(key, f'must be a table of "source value" = "{allowed[0]}"')
        return {}
    out: dict[str, str] = {}
    for value, canonical in raw.items():
        if canonical not in allowed:
            bad(f"{key}.{value}", f"{canonical!r} is not one of: {', '.join(allowed)}")
            continue
        out[value.strip().lower()] = canonical  # source codes match ignoring case
    return out


def _safe_url(url: str) -> bool:
    parsed = urlparse(url)
    if parsed.scheme == "https" and parsed.hostname:
        return True
    return parsed.scheme == "http" and parsed.hostname in ("127.0.0.1", "localhost", "::1")
