"""Durations as written in the config: `30m`, `1h`, `2d`, `1h30m`."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+)\s*(w|d|h|m|s)")
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> timedelta:
    """Parse `1h30m`-style text; raise ValueError with the accepted shape otherwise."""
    cleaned = text.strip().lower().replace(" ", "")
    if not cleaned:
        raise ValueError("empty duration")
    pos, seconds = 0, 0
    for match in _PART.finditer(cleaned):
        if match.start() != pos:
            break
        seconds += int(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(cleaned):
        raise ValueError(f"{text!r} is not a duration like 30m, 1h, 2d or 1h30m")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The inverse of `parse_duration`, shortest form (`24h` stays `1d`)."""
    seconds = int(value.total_seconds())
    if seconds == 0:
        return "0m"
    out = []
    for unit in ("d", "h", "m", "s"):
        size = _UNITS[unit]
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(out)
