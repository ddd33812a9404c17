"""The calendar attachment: parsed back with icalendar, field by field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from linkcli.core.emailbody import to_html
from linkcli.core.ics import build_ics

LINK = "https://video.example.org/j/1001?pwd=a1b2&x=1,2;3"
UID = "apt-1001.p-cl-1@linkcli"
STAMP = datetime(2026, 10, 20, 12, 0, tzinfo=UTC)


def _build(**overrides: Any) -> bytes:
    start = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)  # 15:00 in Chicago (CST)
    args: dict[str, Any] = {
        "uid": UID,
        "sequence": 0,
        "method": "REQUEST",
        "start": start,
        "end": start + timedelta(minutes=50),
        "timezone": "America/Chicago",
        "summary": "Session with Dr. Rivera",
        "link": LINK,
        "description": "Join your video session:",
        "stamp": STAMP,
        "organizer_email": "reminders@example.org",
        "organizer_name": "Example Practice",
        "attendee_email": "alex@example.org",
        "attendee_name": "Alex Doe",
    }
    args.update(overrides)
    return build_ics(**args)


def _event(data: bytes) -> tuple[Calendar, Any]:
    cal = Calendar.from_ical(data)
    events = cal.walk("VEVENT")
    assert len(events) == 1
    return cal, events[0]


def test_request_fields() -> None:
    data = _build(sequence=3)
    cal, ev = _event(data)
    assert cal["METHOD"] == "REQUEST"
    assert cal["VERSION"] == "2.0"
    assert cal["PRODID"]
    assert ev["UID"] == UID
    assert ev["SEQUENCE"] == 3
    assert ev["STATUS"] == "CONFIRMED"
    assert ev["SUMMARY"] == "Session with Dr. Rivera"
    assert ev["LOCATION"] == LINK
    assert ev["URL"] == LINK
    assert LINK in ev["DESCRIPTION"]
    assert ev["DESCRIPTION"].startswith("Join your video session:")
    assert ev.decoded("DTSTAMP") == STAMP
    assert str(ev["ORGANIZER"]) == "mailto:reminders@example.org"
    assert ev["ORGANIZER"].params["CN"] == "Example Practice"
    assert str(ev["ATTENDEE"]) == "mailto:alex@example.org"
    assert ev["ATTENDEE"].params["CN"] == "Alex Doe"
    # Wire format: CRLF line ends, as RFC 5545 requires.
    assert b"\r\nEND:VCALENDAR\r\n" in data


def test_timezone_is_described() -> None:
    data = _build()
    cal, ev = _event(data)
    assert b"DTSTART;TZID=America/Chicago:20261124T150000" in data
    assert [tz.tz_name for tz in cal.timezones] == ["America/Chicago"]
    assert ev["DTSTART"].params["TZID"] == "America/Chicago"
    assert ev.start == datetime(2026, 11, 24, 15, 0, tzinfo=ZoneInfo("America/Chicago"))
    assert ev.end - ev.start == timedelta(minutes=50)
    # Kept small: only transitions around the event, not 1970-2038.
    assert len(data) < 2500


def test_cancel() -> None:
    cal, ev = _event(_build(method="cancel", sequence=4))
    assert cal["METHOD"] == "CANCEL"
    assert ev["STATUS"] == "CANCELLED"
    assert ev["SEQUENCE"] == 4
    assert ev["UID"] == UID


def test_dst_end_day_keeps_local_wall_time() -> None:
    # 2026-11-01: New York falls back at 02:00. A 10:00 session is 15:00 UTC (EST),
    # whereas the same wall time the day before was 14:00 UTC (EDT).
    zone = ZoneInfo("America/New_York")
    start = datetime(2026, 11, 1, 15, 0, tzinfo=UTC)
    data = _build(start=start, end=start + timedelta(hours=1), timezone="America/New_York")
    _, ev = _event(data)
    assert b"DTSTART;TZID=America/New_York:20261101T100000" in data
    assert b"DTEND;TZID=America/New_York:20261101T110000" in data
    assert ev.start.replace(tzinfo=None) == datetime(2026, 11, 1, 10, 0)
    assert ev.start.astimezone(UTC) == start
    day_before = datetime(2026, 10, 31, 10, 0, tzinfo=zone)
    assert day_before.astimezone(UTC).hour == 14


def test_deterministic_and_without_attendee() -> None:
    a = _build(attendee_email=None, attendee_name=None, organizer_name=None)
    assert a == _build(attendee_email=None, attendee_name=None, organizer_name=None)
    _, ev = _event(a)
    assert "ATTENDEE" not in ev
    assert "CN" not in ev["ORGANIZER"].params


def test_description_not_duplicating_link() -> None:
    _, ev = _event(_build(description=f"Join here: {LINK}"))
    assert ev["DESCRIPTION"].count(LINK) == 1


def test_text_values_cannot_inject_lines() -> None:
    data = _build(summary="Hi\r\nATTENDEE:mailto:evil@example.org", attendee_name='A "B"\nC')
    _, ev = _event(data)
    assert "evil" not in str(ev.get("ATTENDEE"))
    assert ev["ATTENDEE"].params["CN"] == "A 'B' C"
    assert b"\nATTENDEE:mailto:evil" not in data.replace(b"\r\n", b"\n")


@pytest.mark.parametrize(
    "overrides",
    [
        {"method": "PUBLISH"},
        {"start": datetime(2026, 11, 24, 15, 0)},  # naive
        {"end": datetime(2026, 11, 24, 20, 0, tzinfo=UTC)},  # before start
        {"timezone": "Mars/Olympus_Mons"},
    ],
)
def test_bad_arguments(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        _build(**overrides)


# -- emailbody (pure, small; kept with the other pure-core test) --------------------------


def test_html_escapes_and_links() -> None:
    text = (
        "Hi <script>alert(1)</script> & co,\n"
        f"join: {LINK}.\n"
        "\n"
        "(see https://help.example.org/a) or javascript:alert(1) or http://plain.example.org"
    )
    out = to_html(text)
    assert "<script>" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in out
    escaped = "https://video.example.org/j/1001?pwd=a1b2&amp;x=1,2;3"
    assert f'<a href="{escaped}">{escaped}</a>.' in out
    assert "&amp;amp;" not in out
    assert '<a href="https://help.example.org/a">https://help.example.org/a</a>)' in out
    assert 'href="javascript' not in out and 'href="http://' not in out
    assert out.count("<p>") == 2
    assert "co,<br>\njoin:" in out
    assert out.startswith("<!DOCTYPE html>")


def test_html_attribute_breakout_is_escaped() -> None:
    out = to_html('https://x.example.org/"onmouseover="alert(1)')
    assert 'href="https://x.example.org/"' in out
    assert "&quot;onmouseover=&quot;alert(1)" in out
