"""Rendering one send: placeholder values in the participant's zone, at send time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from linkcli.core.model import Appointment, Participant
from linkcli.core.templates import render


@dataclass(frozen=True)
class Rendered:
    """A message as it will go: SMS body, or email subject and text."""

    body: str
    subject: str | None = None


def zone_for(participant: Participant, practice_tz: str) -> ZoneInfo:
    """The participant's zone when known and valid, else the practice's."""
    if participant.timezone:
        try:
            return ZoneInfo(participant.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(practice_tz)


def zone_problem(participant: Participant) -> str | None:
    """Why a participant's own time zone cannot be used, or None (valid, or none given).
    A zone linkcli cannot resolve is never guessed: the participant's messages wait
    (DESIGN.md, "One bad record")."""
    if not participant.timezone:
        return None
    try:
        ZoneInfo(participant.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        shown = participant.timezone[:40].encode("ascii", "backslashreplace").decode()
        return f"time zone {shown!r} is not an IANA zone name; its messages wait"
    return None


def format_time(moment: datetime) -> str:
    """`3:00 PM`: the wall time clients read (no leading zero)."""
    return moment.strftime("%I:%M %p").lstrip("0")


def format_date(moment: datetime) -> str:
    """`Tuesday, November 24`."""
    return f"{moment.strftime('%A, %B')} {moment.day}"


def format_day(start_local: datetime, now_local: datetime) -> str:
    """`today`, `tomorrow`, a weekday within the week, else `on Dec 3`-style date."""
    days = (start_local.date() - now_local.date()).days
    if days <= 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if days < 7:
        return start_local.strftime("%A")
    return f"{start_local.strftime('%b')} {start_local.day}"


def format_starts_in(start: datetime, now: datetime) -> str:
    """`30 min`, `10 min`, `1 h 5 min`: time left, rounded to the nearest minute."""
    minutes = max(1, round((start - now).total_seconds() / 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h" + (f" {rest} min" if rest else "")


def values_for(
    appointment: Appointment,
    participant: Participant,
    link: str,
    practice_name: str,
    practice_tz: str,
    now: datetime,
    therapist_name: str | None = None,
    therapist_display: str | None = None,
) -> dict[str, str]:
    """Every placeholder's value for one participant at `now` (DST-correct local time)."""
    zone = zone_for(participant, practice_tz)
    start_local = appointment.start.astimezone(zone)
    name, shown = appointment.therapist.names(therapist_name, therapist_display)
    return {
        "client_first_name": participant.shown_first_name,
        "client_name": participant.name or participant.shown_first_name,
        "therapist": shown,
        "therapist_name": name,
        "practice": practice_name,
        "date": format_date(start_local),
        "time": format_time(start_local),
        "day": format_day(start_local, now.astimezone(zone)),
        "starts_in": format_starts_in(appointment.start, now),
        "link": link,
    }


def render_message(
    values: dict[str, str], body_template: str, subject_template: str | None = None
) -> Rendered:
    """Fill the templates of one send."""
    subject = render(subject_template, values) if subject_template is not None else None
    return Rendered(body=render(body_template, values), subject=subject)
