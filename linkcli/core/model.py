"""The canonical appointment every source produces (DESIGN.md, "Canonical appointment").

Parsing is strict about what matters (id, start with an offset, status) and lenient about
what may be missing; a record that cannot be understood raises `RecordError`, which the
sync reports and skips without stopping the rest of the listing.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from linkcli.core.language import normalize_tag
from linkcli.core.text import plain_name

STATUSES = ("scheduled", "canceled", "completed", "no_show")
_STATUS_ALIASES = {
    "cancelled": "canceled",
    "no-show": "no_show",
    "noshow": "no_show",
    "booked": "scheduled",
    "confirmed": "scheduled",
}
FORMATS = ("telehealth", "in_person")
_FORMAT_ALIASES = {
    "video": "telehealth",
    "virtual": "telehealth",
    "online": "telehealth",
    "in-person": "in_person",
    "inperson": "in_person",
    "office": "in_person",
}


class RecordError(ValueError):
    """One record of a listing cannot be understood; it is reported and skipped."""

    def __init__(self, record_id: str | None, message: str) -> None:
        self.record_id = record_id
        self.message = message
        label = f"record {record_id!r}" if record_id else "a record without an id"
        super().__init__(f"{label}: {message}")


@dataclass(frozen=True)
class Therapist:
    """Who runs the session; `display_name` is what clients see."""

    id: str
    name: str
    display_name: str | None = None

    def __post_init__(self) -> None:
        # Names are shown to clients and operators: text only, never a link or an escape.
        object.__setattr__(self, "name", plain_name(self.name) or "")
        object.__setattr__(self, "display_name", plain_name(self.display_name))

    @property
    def shown(self) -> str:
        """The name used in messages: display name, else name; with neither, words a
        client can read (never the scheduling system's id, such as "th-1")."""
        return self.display_name or self.name or "your therapist"

    def names(self, name: str | None = None, display_name: str | None = None) -> tuple[str, str]:
        """(name, shown name) once the practice's own settings are applied: a configured
        name or display name wins over the source's, and what clients see is the display
        name, else the name. The one rule for every message, calendar file and screen."""
        full = name or self.name or self.shown  # never the system's id
        return full, display_name or self.display_name or full


@dataclass(frozen=True)
class Participant:
    """One client of a session; each gets their own message sequence."""

    id: str
    name: str
    first_name: str | None = None
    email: str | None = None
    mobile: str | None = None
    sms_opt_in: bool | None = None
    email_opt_in: bool | None = None
    timezone: str | None = None
    language: str | None = None  # BCP 47 (`es`, `es-MX`); None: the practice's

    def __post_init__(self) -> None:
        # Names go into texts, email headers and terminals: text only (core/text.py).
        object.__setattr__(self, "name", plain_name(self.name) or "")
        object.__setattr__(self, "first_name", plain_name(self.first_name))

    @property
    def shown_first_name(self) -> str:
        """First name for greetings: explicit, else the first word of the name."""
        if self.first_name:
            return self.first_name
        return self.name.split()[0] if self.name.strip() else "there"

    @property
    def short_name(self) -> str:
        """`Alex R.`: enough for an operator to know who, nothing more identifying (first
        name and last initial); the id when the schedule gives no name."""
        words = "".join(ch if ch.isprintable() else " " for ch in self.name).split()
        first = self.first_name or (words[0] if words else "")
        if not first:
            return self.id
        last = words[-1] if len(words) > 1 else ""
        return f"{first} {last[0]}." if last and last != first else first


@dataclass(frozen=True)
class Appointment:
    """A session as the schedule describes it now. Instants are aware UTC datetimes."""

    id: str
    status: str
    start: datetime
    therapist: Therapist
    participants: tuple[Participant, ...] = field(default_factory=tuple)
    end: datetime | None = None
    format: str = "telehealth"
    telehealth_url: str | None = None
    updated_at: datetime | None = None

    @property
    def is_live_telehealth(self) -> bool:
        """Only scheduled telehealth sessions get link messages."""
        return self.status == "scheduled" and self.format == "telehealth"

    def participant(self, participant_id: str) -> Participant | None:
        """The participant with this id, if still on the appointment."""
        for p in self.participants:
            if p.id == participant_id:
                return p
        return None

    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON form (instants in UTC), as stored in the snapshot."""
        return {
            "id": self.id,
            "status": self.status,
            "start": _iso(self.start),
            "end": _iso(self.end) if self.end else None,
            "format": self.format,
            "telehealth_url": self.telehealth_url,
            "therapist": {
                "id": self.therapist.id,
                "name": self.therapist.name,
                "display_name": self.therapist.display_name,
            },
            "participants": [
                {
                    "id": p.id,
                    "name": p.name,
                    "first_name": p.first_name,
                    "email": p.email,
                    "mobile": p.mobile,
                    "sms_opt_in": p.sms_opt_in,
                    "email_opt_in": p.email_opt_in,
                    "timezone": p.timezone,
                    # Only when known, so snapshots taken before languages keep their digest.
                    **({"language": p.language} if p.language else {}),
                }
                for p in self.participants
            ],
            "updated_at": _iso(self.updated_at) if self.updated_at else None,
        }

    @cached_property
    def _digest(self) -> str:
        data = self.to_dict()
        data.pop("updated_at")
        blob = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:32]

    def digest(self) -> str:
        """A stable fingerprint of everything except `updated_at`, for cheap change checks
        (computed once per appointment: sync compares it, then stores it)."""
        return self._digest


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_instant(value: Any, what: str, record_id: str | None) -> datetime:
    """Parse an ISO 8601 instant that must carry a UTC offset."""
    if not isinstance(value, str) or not value.strip():
        raise RecordError(record_id, f"{what} is missing or not a string")
    shown = _shown(value)
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise RecordError(record_id, f"{what} {shown} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise RecordError(record_id, f"{what} {shown} has no UTC offset")
    try:
        instant = parsed.astimezone(UTC)
        # Every instant linkcli computes from a start (24 h before, a week after) must
        # exist too: a year at the end of the calendar is one bad record, not a crash.
        instant + timedelta(days=400), instant - timedelta(days=400)
    except OverflowError:
        raise RecordError(record_id, f"{what} {shown} is out of range") from None
    return instant


def _shown(value: str) -> str:
    """A record's value quoted for a message, cut short (a 10,000-character field
    makes one readable line)."""
    return repr(value if len(value) <= 60 else value[:60] + "…")


def _finite(value: Any, record_id: str | None, where: str = "") -> None:
    """Refuse NaN and infinities anywhere in a record (JSON's `NaN`/`Infinity` tokens):
    no field of an appointment is a number that is not one."""
    if isinstance(value, float) and not math.isfinite(value):
        raise RecordError(record_id, f"{where or 'a field'} is {value!r}, not a value")
    if isinstance(value, dict):
        for key, item in value.items():
            _finite(item, record_id, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for item in value:
            _finite(item, record_id, where)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def _flag(value: Any, what: str, record_id: str | None) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise RecordError(record_id, f"{what} must be true, false or null, not {value!r}")


def parse_participant(raw: Any, record_id: str | None) -> Participant:
    """Parse one participant object of a canonical record."""
    if not isinstance(raw, dict):
        raise RecordError(record_id, "each participant must be an object")
    pid = _text(raw.get("id"))
    if not pid:
        raise RecordError(record_id, "a participant has no id")
    name = _text(raw.get("name")) or _text(raw.get("first_name")) or ""
    return Participant(
        id=pid,
        name=name,
        first_name=_text(raw.get("first_name")),
        email=_text(raw.get("email")),
        mobile=_text(raw.get("mobile")),
        sms_opt_in=_flag(raw.get("sms_opt_in"), "sms_opt_in", record_id),
        email_opt_in=_flag(raw.get("email_opt_in"), "email_opt_in", record_id),
        timezone=_text(raw.get("timezone")),
        language=normalize_tag(raw.get("language")),
    )


def parse_appointment(raw: Any) -> Appointment:
    """Parse one canonical record; raise `RecordError` naming the record and the field."""
    if not isinstance(raw, dict):
        raise RecordError(None, f"expected an object, found {type(raw).__name__}")
    rid = _text(raw.get("id"))
    if not rid:
        raise RecordError(None, "missing id")
    _finite(raw, rid)
    status_raw = (_text(raw.get("status")) or "scheduled").lower()
    status = _STATUS_ALIASES.get(status_raw, status_raw)
    if status not in STATUSES:
        raise RecordError(rid, f"status {status_raw!r} is not one of {', '.join(STATUSES)}")
    fmt_raw = (_text(raw.get("format")) or "telehealth").lower()
    fmt = _FORMAT_ALIASES.get(fmt_raw, fmt_raw)
    if fmt not in FORMATS:
        raise RecordError(rid, f"format {fmt_raw!r} is not one of {', '.join(FORMATS)}")
    start = parse_instant(raw.get("start"), "start", rid)
    end = parse_instant(raw["end"], "end", rid) if raw.get("end") else None
    if end is not None and end < start:
        raise RecordError(rid, "end is before start")
    updated = parse_instant(raw["updated_at"], "updated_at", rid) if raw.get("updated_at") else None
    therapist_raw = raw.get("therapist")
    if isinstance(therapist_raw, str):
        therapist_raw = {"id": therapist_raw}
    if not isinstance(therapist_raw, dict) or not _text(therapist_raw.get("id")):
        raise RecordError(rid, "therapist must be an object with an id")
    tid = _text(therapist_raw.get("id")) or ""
    therapist = Therapist(
        id=tid,
        name=_text(therapist_raw.get("name")) or "",
        display_name=_text(therapist_raw.get("display_name")),
    )
    parts_raw = raw.get("participants") or []
    if not isinstance(parts_raw, list):
        raise RecordError(rid, "participants must be a list")
    participants = tuple(parse_participant(p, rid) for p in parts_raw)
    ids = [p.id for p in participants]
    if len(set(ids)) != len(ids):
        raise RecordError(rid, "two participants share an id")
    return Appointment(
        id=rid,
        status=status,
        start=start,
        end=end,
        format=fmt,
        telehealth_url=_text(raw.get("telehealth_url")),
        therapist=therapist,
        participants=participants,
        updated_at=updated,
    )
