"""The synthetic practice that `linkcli demo` runs through the real sync and dispatch.

Everything here is invented: example.org addresses, +1 617 555 01xx numbers (the range
North American numbering reserves for fiction), made-up names. The week is fixed
(Monday 2026-11-30, America/New_York, no DST change inside it) so the demo prints the
same timeline on every machine and every day.

The schedule holds the cases an operator meets in a real week: a group session, a client
with no mobile, a client who has not agreed to texts, a client in another time zone, an
in-person session (nothing is sent), a reschedule days ahead, a same-day reschedule after
the 24 h reminder went out, a cancellation, a booking made mid-week, and next Monday's
session carrying a personal meeting-room link (refused, so it shows in `attention`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

PRACTICE_NAME = "Maple Street Counseling"
ZONE_NAME = "America/New_York"
ZONE = ZoneInfo(ZONE_NAME)
ANCHOR = date(2026, 11, 30)  # the Monday the demo week starts
UPDATED_AT = "2026-11-20T15:00:00Z"  # when the synthetic schedule was "last edited"

# The cron ticks: the first sync on the Sunday morning before the week (so Monday's 24 h
# reminders are still ahead of it), the last after Friday's final session.
START = datetime.combine(ANCHOR - timedelta(days=1), time(8, 0), ZONE)
END = datetime.combine(ANCHOR + timedelta(days=4), time(19, 0), ZONE)
TICK = timedelta(minutes=15)

THERAPISTS: dict[str, dict[str, str]] = {
    "th-chen": {"id": "th-chen", "name": "Maya Chen", "display_name": "Dr. Chen"},
    "th-okafor": {"id": "th-okafor", "name": "Daniel Okafor", "display_name": "Dr. Okafor"},
    "th-patel": {"id": "th-patel", "name": "Priya Patel", "display_name": "Dr. Patel"},
}

# client id -> (full name, mobile or None, sms_opt_in, timezone or None)
_CLIENTS: dict[str, tuple[str, str | None, bool, str | None]] = {
    "cl-alex": ("Alex Rivera", "0101", True, "America/Chicago"),
    "cl-ben": ("Ben Torres", "0102", True, None),
    "cl-noah": ("Noah Kim", None, True, None),  # no mobile: the email-only sequence
    "cl-clara": ("Clara Novak", "0104", True, None),
    "cl-mia": ("Mia Santos", "0105", True, None),
    "cl-dev": ("Dev Sharma", "0106", True, None),
    "cl-emma": ("Emma Walsh", "0107", True, None),
    "cl-finn": ("Finn Byrne", "0108", True, None),
    "cl-gia": ("Gia Moretti", "0109", True, None),
    "cl-hugo": ("Hugo Lambert", "0110", True, None),
    "cl-ivy": ("Ivy Brooks", "0111", True, None),
    "cl-jon": ("Jon Eriksen", "0112", True, None),
    "cl-kai": ("Kai Nakamura", "0113", True, None),
    "cl-sky": ("Sky Jensen", "0114", False, None),  # has not agreed to texts
    "cl-lena": ("Lena Fischer", "0115", True, None),
    "cl-max": ("Max Weber", "0116", True, None),
    "cl-nora": ("Nora Lindqvist", "0117", True, None),
    "cl-omar": ("Omar Haddad", "0118", True, None),
    "cl-pia": ("Pia Larsen", "0119", True, None),
    "cl-quinn": ("Quinn Avery", "0120", True, None),
    "cl-rosa": ("Rosa Delgado", "0121", True, None),
    "cl-sam": ("Sam Okoro", "0122", True, None),
}

# (appointment id, day offset from ANCHOR, "HH:MM" local, therapist, client ids, format)
_SESSIONS: tuple[tuple[str, int, str, str, tuple[str, ...], str], ...] = (
    ("apt-101", 0, "09:00", "th-chen", ("cl-alex",), "telehealth"),
    ("apt-102", 0, "15:00", "th-chen", ("cl-ben",), "telehealth"),
    ("apt-103", 1, "10:00", "th-chen", ("cl-noah",), "telehealth"),
    ("apt-104", 1, "14:00", "th-chen", ("cl-clara",), "telehealth"),
    ("apt-105", 2, "10:00", "th-chen", ("cl-mia",), "telehealth"),
    ("apt-106", 2, "16:00", "th-chen", ("cl-dev",), "telehealth"),
    ("apt-107", 3, "09:00", "th-chen", ("cl-alex",), "telehealth"),
    ("apt-108", 3, "14:00", "th-chen", ("cl-ben",), "telehealth"),
    ("apt-109", 4, "10:00", "th-chen", ("cl-clara",), "telehealth"),
    ("apt-110", 4, "15:00", "th-chen", ("cl-emma",), "telehealth"),
    ("apt-201", 0, "10:00", "th-okafor", ("cl-gia",), "telehealth"),
    ("apt-202", 0, "13:00", "th-okafor", ("cl-hugo",), "in_person"),
    ("apt-203", 0, "17:00", "th-okafor", ("cl-ivy",), "telehealth"),
    ("apt-204", 1, "09:00", "th-okafor", ("cl-jon",), "telehealth"),
    ("apt-205", 1, "12:00", "th-okafor", ("cl-kai",), "telehealth"),
    ("apt-206", 2, "09:30", "th-okafor", ("cl-sky",), "telehealth"),
    ("apt-207", 2, "13:00", "th-okafor", ("cl-gia",), "telehealth"),
    ("apt-208", 3, "11:00", "th-okafor", ("cl-ivy",), "telehealth"),
    ("apt-209", 3, "15:30", "th-okafor", ("cl-jon",), "telehealth"),
    ("apt-210", 4, "09:00", "th-okafor", ("cl-kai",), "telehealth"),
    ("apt-211", 4, "12:00", "th-okafor", ("cl-hugo",), "telehealth"),
    ("apt-301", 0, "11:00", "th-patel", ("cl-lena",), "telehealth"),
    ("apt-302", 1, "11:00", "th-patel", ("cl-max",), "telehealth"),
    ("apt-303", 1, "17:30", "th-patel", ("cl-nora",), "telehealth"),
    ("apt-304", 2, "11:00", "th-patel", ("cl-omar",), "telehealth"),
    ("apt-305", 2, "17:00", "th-patel", ("cl-pia",), "telehealth"),
    ("apt-306", 3, "10:00", "th-patel", ("cl-max",), "telehealth"),
    ("apt-307", 3, "18:00", "th-patel", ("cl-quinn", "cl-rosa", "cl-sam"), "telehealth"),
    ("apt-308", 4, "11:00", "th-patel", ("cl-nora",), "telehealth"),
    ("apt-309", 4, "14:00", "th-patel", ("cl-omar",), "telehealth"),
    # Next Monday, with the therapist's personal Zoom room instead of a session link.
    ("apt-310", 7, "09:00", "th-patel", ("cl-pia",), "telehealth"),
)

GROUP_ID = "apt-307"
PERSONAL_ROOM = "https://us02web.zoom.us/my/drpatel"


def local(day: int, hhmm: str) -> datetime:
    """An aware local time `day` days after the anchor Monday."""
    hour, minute = (int(part) for part in hhmm.split(":"))
    return datetime.combine(ANCHOR + timedelta(days=day), time(hour, minute), ZONE)


def _token(seed: str, length: int) -> str:
    """Deterministic letters and digits, so the links look real but never change."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:length])


def session_link(appointment_id: str, therapist_id: str) -> str:
    """A session-specific link in the shape each therapist's platform uses."""
    number = int(hashlib.sha256(appointment_id.encode()).hexdigest(), 16)
    if therapist_id == "th-chen":
        meeting = f"855{number % 10**8:08d}"
        return f"https://us02web.zoom.us/j/{meeting}?pwd={_token(appointment_id, 32)}.1"
    if therapist_id == "th-okafor":
        return f"https://video.simplepractice.com/appt-{number % 16**32:032x}"
    code = _token(appointment_id, 10).lower()
    return f"https://meet.google.com/{code[:3]}-{code[3:7]}-{code[7:]}"


def participant(client_id: str) -> dict[str, Any]:
    """One client as a canonical participant."""
    name, mobile, sms_opt_in, zone = _CLIENTS[client_id]
    first = name.split()[0]
    return {
        "id": client_id,
        "name": name,
        "first_name": first,
        "email": f"{first.lower()}@example.org",
        "mobile": f"+1 617 555 {mobile}" if mobile else None,
        "sms_opt_in": sms_opt_in,
        "email_opt_in": True,
        "timezone": zone,
    }


def appointment(
    appointment_id: str,
    day: int,
    hhmm: str,
    therapist_id: str,
    clients: tuple[str, ...],
    fmt: str = "telehealth",
    link: str | None = None,
) -> dict[str, Any]:
    """One canonical record (the `file` source's format), 50 minutes long."""
    start = local(day, hhmm)
    return {
        "id": appointment_id,
        "status": "scheduled",
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=50)).isoformat(),
        "format": fmt,
        "telehealth_url": (link or session_link(appointment_id, therapist_id))
        if fmt == "telehealth"
        else None,
        "therapist": dict(THERAPISTS[therapist_id]),
        "participants": [participant(c) for c in clients],
        "updated_at": UPDATED_AT,
    }


def initial_schedule() -> list[dict[str, Any]]:
    """The schedule as the practice's system lists it at the first sync."""
    out = []
    for aid, day, hhmm, tid, clients, fmt in _SESSIONS:
        link = PERSONAL_ROOM if aid == "apt-310" else None
        out.append(appointment(aid, day, hhmm, tid, clients, fmt, link))
    return out


Records = list[dict[str, Any]]


@dataclass(frozen=True)
class ScheduleEvent:
    """A change someone makes in the scheduling system during the week."""

    at: datetime
    kind: str  # rescheduled | canceled | created
    appointment_id: str
    description: str
    apply: Callable[[Records], None]


def _find(records: Records, appointment_id: str) -> dict[str, Any]:
    return next(r for r in records if r["id"] == appointment_id)


def _move(appointment_id: str, day: int, hhmm: str, edited: datetime) -> Callable[[Records], None]:
    def apply(records: Records) -> None:
        record = _find(records, appointment_id)
        start = local(day, hhmm)
        record["start"] = start.isoformat()
        record["end"] = (start + timedelta(minutes=50)).isoformat()
        record["updated_at"] = edited.isoformat()

    return apply


def _cancel(appointment_id: str, edited: datetime) -> Callable[[Records], None]:
    def apply(records: Records) -> None:
        record = _find(records, appointment_id)
        record["status"] = "canceled"
        record["updated_at"] = edited.isoformat()

    return apply


def _book(record: dict[str, Any], edited: datetime) -> Callable[[Records], None]:
    def apply(records: Records) -> None:
        records.append({**record, "updated_at": edited.isoformat()})

    return apply


def _events() -> tuple[ScheduleEvent, ...]:
    move_108 = local(0, "11:20")
    book_111 = local(1, "09:10")
    cancel_208 = local(2, "16:05")
    move_105 = local(2, "08:05")
    return (
        ScheduleEvent(
            move_108,
            "rescheduled",
            "apt-108",
            "Ben moved his Thursday 2:00 PM session with Dr. Chen to Friday 1:00 PM",
            _move("apt-108", 4, "13:00", move_108),
        ),
        ScheduleEvent(
            book_111,
            "created",
            "apt-111",
            "new booking: Finn, Thursday 4:00 PM with Dr. Chen",
            _book(appointment("apt-111", 3, "16:00", "th-chen", ("cl-finn",)), book_111),
        ),
        ScheduleEvent(
            cancel_208,
            "canceled",
            "apt-208",
            "Ivy's Thursday 11:00 AM session with Dr. Okafor was canceled, after its 24h "
            "reminder went out",
            _cancel("apt-208", cancel_208),
        ),
        ScheduleEvent(
            move_105,
            "rescheduled",
            "apt-105",
            "same-day reschedule: Mia's 10:00 AM session with Dr. Chen moved to 3:00 PM "
            "today, after its 24h reminder went out",
            _move("apt-105", 2, "15:00", move_105),
        ),
    )


EVENTS: tuple[ScheduleEvent, ...] = _events()


def config_toml(practice: str = PRACTICE_NAME) -> str:
    """The demo's config: the `file` source and both `outbox` channels, nothing real."""
    return f"""\
# linkcli demo practice (synthetic). Nothing here reaches a real person: messages are
# written to the outbox files next to this config.
[practice]
name = "{practice}"
timezone = "{ZONE_NAME}"
country = "US"

[store]
path = "linkcli.db"

[source]
kind = "file"
path = "appointments.json"

[sms]
provider = "outbox"
outbox_path = "outbox-sms.jsonl"

[email]
provider = "outbox"
outbox_path = "outbox-email.jsonl"
from_address = "reminders@example.org"
"""
