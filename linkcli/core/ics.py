"""Build the calendar attachment (iCalendar, RFC 5545 / iTIP RFC 5546) for one session.

Pure: values in, bytes out. The only thing read is the IANA tz database (via `zoneinfo`)
to describe the zone in a VTIMEZONE; there is no clock read and no other I/O. The output
is deterministic for the same arguments, so a re-sent invite is byte-identical.

Calendar clients match updates and cancellations to the original invite by UID and take
the one with the highest SEQUENCE, so the caller must keep the UID stable for a
(appointment, participant) pair and increase SEQUENCE on every change.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Event, vCalAddress

PRODID = "-//linkcli//linkcli//EN"
METHODS = ("REQUEST", "CANCEL")
_STATUS_FOR_METHOD = {"REQUEST": "CONFIRMED", "CANCEL": "CANCELLED"}
# The VTIMEZONE only needs to describe the zone around the event; the library's default
# span (1970-2038) lists every transition and bloats each invite to several KB.
_TZ_MARGIN = timedelta(days=400)


def build_ics(
    *,
    uid: str,
    sequence: int,
    method: str,
    start: datetime,
    end: datetime,
    timezone: str,
    summary: str,
    link: str,
    description: str,
    stamp: datetime,
    organizer_email: str,
    organizer_name: str | None,
    attendee_email: str | None,
    attendee_name: str | None,
) -> bytes:
    """Return an iCalendar document (CRLF-separated UTF-8 bytes) with one VEVENT.

    `method` is "REQUEST" (new or updated session, STATUS:CONFIRMED) or "CANCEL"
    (STATUS:CANCELLED). `start`, `end` and `stamp` must be timezone-aware; `start` and
    `end` are written as wall time in `timezone` (an IANA name) with a matching VTIMEZONE
    component. The link goes into LOCATION, URL and DESCRIPTION (appended to
    `description` unless already in it). Raises ValueError for bad arguments.
    """
    method = method.strip().upper()
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    for name, value in (("start", start), ("end", end), ("stamp", stamp)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware, got {value.isoformat()}")
    if end <= start:
        raise ValueError("end must be after start")
    if sequence < 0:
        raise ValueError("sequence must not be negative")
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {timezone!r}") from None

    local_start = start.astimezone(zone)
    local_end = end.astimezone(zone)

    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    # DTSTAMP must be UTC (RFC 5545 3.8.7.2); clients compare it between same-SEQUENCE copies.
    event.add("dtstamp", stamp.astimezone(ZoneInfo("UTC")))
    event.add("dtstart", local_start)
    event.add("dtend", local_end)
    event.add("summary", summary)
    event.add("location", link)
    event.add("url", link)
    event.add("description", _with_link(description, link))
    event.add("status", _STATUS_FOR_METHOD[method])
    event.add("transp", "OPAQUE")
    # Outlook refuses a REQUEST/CANCEL without an ORGANIZER, and matches the cancellation
    # to the attendee listed, so both are always written when known.
    event.add("organizer", _address(organizer_email, organizer_name))
    if attendee_email:
        attendee = _address(attendee_email, attendee_name)
        attendee.params["ROLE"] = "REQ-PARTICIPANT"
        attendee.params["PARTSTAT"] = "NEEDS-ACTION"
        # No RSVP: replies would land in the reminder mailbox, which nobody reads.
        attendee.params["RSVP"] = "FALSE"
        event.add("attendee", attendee)

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    calendar.add_component(event)
    calendar.add_missing_timezones(
        first_date=(local_start - _TZ_MARGIN).date(),
        last_date=(local_end + _TZ_MARGIN).date(),
    )
    if calendar.get_missing_tzids():
        # UTC needs no VTIMEZONE; anything else missing would make the invite ambiguous.
        raise ValueError(f"cannot describe time zone {timezone!r} in a VTIMEZONE")
    return calendar.to_ical()


def _address(email: str, name: str | None) -> vCalAddress:
    """A mailto: calendar address with an optional common name."""
    address = vCalAddress(f"mailto:{email.strip()}")
    if name and name.strip():
        # Line breaks in a parameter would break the content line; a name never needs
        # one. Double quotes would need RFC 6868 ^' escaping, which Outlook shows raw.
        address.params["CN"] = " ".join(name.split()).replace('"', "'")
    return address


def _with_link(description: str, link: str) -> str:
    """The description, with the link appended when the caller did not include it."""
    text = description.rstrip()
    if link in text:
        return text
    return f"{text}\n\n{link}" if text else link
