"""What each source kind accepts under `[source]`, declared once and read by the config
reader (config.py), so every problem in `[source]` carries its key and line and is
reported together with the rest of the file's problems.

This module is deliberately light (no httpx, no icalendar): the config is read on every
cron tick, and a quiet tick must not pay for a source's libraries. A source's `build()`
receives settings that already passed these checks; what needs more than one key's value
(rest's field map, ics feeds against [therapists]) is still checked where it is used.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Check = Callable[[Any], str | None]  # a value -> None when fine, else the problem

MAX_TIMEOUT = 600.0  # seconds: a longer network wait would outlast the cron tick
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def env_name_problem(value: object) -> str | None:
    """A `*_env` value must name a variable. The value itself is never quoted back: a
    secret pasted here would otherwise reach cron mail and logs."""
    if isinstance(value, str) and _ENV_NAME.match(value):
        return None
    return (
        "must be the name of an environment variable (letters, digits and _, e.g. "
        "LINKCLI_TOKEN), not the secret itself; the value is not shown"
    )


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return None
    return f"must be a non-empty string, found {value!r}"


def _path(value: object) -> str | None:
    return None if isinstance(value, str) else f'must be a path ("" turns it off), found {value!r}'


def _url(value: object) -> str | None:
    if not isinstance(value, str):
        return f"must be an https URL, found {value!r}"
    parsed = urlparse(value.strip())
    if parsed.scheme == "https" and parsed.hostname:
        return None
    if parsed.scheme == "http" and parsed.hostname in _LOOPBACK:
        return None
    return f"{value!r} must be an https URL (plain http only for a loopback host)"


def seconds_problem(value: object) -> str | None:
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 < value <= MAX_TIMEOUT
    ):
        return None
    return f"must be a number of seconds above 0 and at most {MAX_TIMEOUT:g}, found {value!r}"


def _bool(value: object) -> str | None:
    return None if isinstance(value, bool) else f"must be true or false, found {value!r}"


def _names(value: object) -> str | None:
    if isinstance(value, list) and value and all(isinstance(v, str) and v.strip() for v in value):
        return None
    return f'must be a list of Zoom user ids or emails, e.g. ["me"], found {value!r}'


def _table(value: object) -> str | None:
    return None if isinstance(value, dict) else f"must be a table, found {value!r}"


def _list(value: object) -> str | None:
    return None if isinstance(value, list) else f"must be a list, found {value!r}"


def pages_problem(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 100_000:
        return None
    return f"must be a whole number from 1 to 100000, found {value!r}"


def _choice(*choices: str) -> Check:
    def check(value: object) -> str | None:
        if value in choices:
            return None
        return f"{value!r} is not one of: {', '.join(choices)}"

    return check


def _zone(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return f"must be an IANA time zone name, found {value!r}"
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return f"{value!r} is not an IANA time zone (e.g. America/New_York)"
    return None


@dataclass(frozen=True)
class Setting:
    """One `[source]` key: its check, and whether the source cannot work without it."""

    key: str
    check: Check
    required: str | None = None  # the problem when the key is missing


_FEEDS = Setting(
    "feeds",
    _list,
    "missing; list one feed per therapist, e.g. feeds = "
    '[{ therapist = "th-1", url = "https://.../th-1.ics" }]',
)
_ICS = (_FEEDS, Setting("timeout", seconds_problem))

SETTINGS: dict[str, tuple[Setting, ...]] = {
    "file": (Setting("path", _text, 'missing; the file source needs path = "appointments.json"'),),
    "ics": _ICS,
    "simplepractice": _ICS,
    "therapynotes": _ICS,
    "calendly": (
        Setting("base_url", _url),
        Setting("token_env", env_name_problem),
        Setting("timeout", seconds_problem),
        Setting("cache_path", _path),
    ),
    "zoom": (
        Setting("base_url", _url),
        Setting("oauth_url", _url),
        Setting("users", _names),
        Setting("registrants", _bool),
        Setting("token_cache", _text),
        Setting("account_id_env", env_name_problem),
        Setting("client_id_env", env_name_problem),
        Setting("client_secret_env", env_name_problem),
    ),
    "fhir": (
        Setting(
            "base_url",
            _url,
            "missing; the fhir source needs the server's FHIR base, "
            'e.g. base_url = "https://fhir.example.org/r4"',
        ),
        Setting("token_env", env_name_problem),
        Setting("fallback_link", _url),
        Setting("timeout", seconds_problem),
        # Each sent message recorded on the EHR as a Communication (linkcli/writeback.py).
        Setting("write_back", _bool),
    ),
}


def _rest_problems(settings: Mapping[str, Any]) -> list[tuple[str, str]]:
    from linkcli.sources.rest_settings import settings_problems  # light, like this module

    return settings_problems(settings)


# Kinds whose keys depend on each other (rest's auth, paging and field map) are read by
# their own settings module, which reports (dotted key, message) pairs; the config
# reader gives each its line. Imported only for a practice using that kind.
READERS: dict[str, Callable[[Mapping[str, Any]], list[tuple[str, str]]]] = {
    "rest": _rest_problems,
}
