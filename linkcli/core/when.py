"""Instants for people: "Sun Dec 6, 9:00 AM · in 2 d", in a named zone. The one
formatter every human screen uses (JSON keeps ISO 8601)."""

from __future__ import annotations

from datetime import datetime, tzinfo


def relative(moment: datetime, now: datetime) -> str:
    """`in 5 min`, `in 3 h`, `in 2 d`, `now`, `20 min ago`: the distance a person weighs."""
    seconds = (moment - now).total_seconds()
    minutes = round(abs(seconds) / 60)
    if minutes < 1:
        return "now"
    if minutes < 60:
        span = f"{minutes} min"
    elif minutes < 48 * 60:
        span = f"{round(minutes / 60)} h"
    else:
        span = f"{round(minutes / 1440)} d"
    return f"in {span}" if seconds > 0 else f"{span} ago"


def people_time(
    moment: datetime, zone: tzinfo, now: datetime | None = None, zone_name: bool = False
) -> str:
    """`Sun Dec 6, 9:00 AM` in `zone`; with `now`, `· in 2 d` after it; with
    `zone_name`, the zone's abbreviation (`CST`) where two zones may be on one screen."""
    local = moment.astimezone(zone)
    text = f"{local:%a %b} {local.day}, {local.strftime('%I:%M %p').lstrip('0')}"
    if zone_name:
        text += f" {local.tzname()}"
    if now is not None:
        text += f" · {relative(moment, now)}"
    return text


def people_iso(value: str | None, zone: tzinfo, now: datetime | None = None) -> str | None:
    """An ISO 8601 instant (as JSON carries it) for people; None stays None."""
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return people_time(moment, zone, now)
