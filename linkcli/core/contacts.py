"""The practice's contacts directory and how it is joined to a listing (pure: no I/O).

Calendar feeds (SimplePractice, TherapyNotes) and meeting platforms carry no client phone
or email, and no channel preferences; the practice keeps them in a CSV directory with the
columns client, name, email, mobile, channels, timezone (+ optional sms_consent,
first_name, language). A participant is joined to a contact by its id (the `client` key) or, when a
source only *names* the client (id ""), by the contact whose full name appears in that
text as whole words, ignoring case.

The directory's preferences only ever narrow what a source allows: a client who chose
"email" gets no SMS whatever the source says, but "both" never re-opens a channel the
source closed (an opt-out recorded in the EHR stands).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from linkcli.core.language import normalize_tag
from linkcli.core.model import Appointment, Participant

REQUIRED_COLUMNS = ("client", "name", "email", "mobile", "channels", "timezone")
OPTIONAL_COLUMNS = ("sms_consent", "first_name", "language")
CHANNELS = ("email", "text", "both", "none")
_YES = ("yes", "true", "y", "1")
_NO = ("no", "false", "n", "0")


class DirectoryError(ValueError):
    """The directory text cannot be used; `problems` holds one line per fault found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class Contact:
    """One client of the practice as the directory describes them."""

    client: str
    name: str
    email: str | None = None
    mobile: str | None = None
    channels: str = "both"
    timezone: str | None = None
    sms_consent: bool | None = None
    first_name: str | None = None
    language: str | None = None
    line: int = 0

    @property
    def sms_allowed(self) -> bool:
        """False when the client chose no texts (channels, or sms_consent = no)."""
        return self.channels in ("text", "both") and self.sms_consent is not False

    @property
    def email_allowed(self) -> bool:
        """False when the client chose no email."""
        return self.channels in ("email", "both")

    @cached_property
    def pattern(self) -> re.Pattern[str] | None:
        """The full name as whole words, any case and spacing; None for a nameless contact."""
        words = _normalise(self.name).split()
        if not words:
            return None
        # (?<!\w)/(?!\w) rather than \b: a name may end in a non-word character ("Jr.").
        return re.compile(
            r"(?<!\w)" + r"\s+".join(map(re.escape, words)) + r"(?!\w)", re.IGNORECASE
        )


@dataclass(frozen=True)
class Directory:
    """All contacts, keyed by client; `where` names the file in problem lines."""

    contacts: tuple[Contact, ...] = ()
    where: str = "contacts.csv"
    _by_client: dict[str, Contact] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        self._by_client.update({c.client: c for c in self.contacts})

    def get(self, client: str) -> Contact | None:
        """The contact with this client key, if any."""
        return self._by_client.get(client)

    def match_title(self, text: str) -> list[Contact]:
        """Contacts whose full name appears in `text` as whole words, ignoring case.

        A match lying wholly inside a longer one is not counted: "Alex Rivera Jr" names
        the contact "Alex Rivera Jr", not also "Alex Rivera".
        """
        text = _normalise(text)
        spans: list[tuple[Contact, list[tuple[int, int]]]] = []
        for contact in self.contacts:
            if contact.pattern is None:
                continue
            found = [m.span() for m in contact.pattern.finditer(text)]
            if found:
                spans.append((contact, found))
        every = [s for _c, found in spans for s in found]
        matches = []
        for contact, found in spans:
            inside_longer = all(
                any(a <= s and e <= b and (b - a) > (e - s) for a, b in every) for s, e in found
            )
            if not inside_longer:
                matches.append(contact)
        return matches


def _normalise(text: str) -> str:
    # Typographic apostrophes and dashes from a calendar title should still match the
    # plain ones typed in a spreadsheet (O’Brien / O'Brien).
    return text.replace("\u2019", "'").replace("\u2018", "'").replace("\u2013", "-")


def parse_directory(text: str, where: str = "contacts.csv") -> Directory:
    """Parse the CSV text of a contacts directory; raise DirectoryError listing every fault.

    Each problem names its line (`line 4: channels 'sms' is not one of ...`), so a
    practice manager can fix the spreadsheet without reading code.
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))  # Excel writes a BOM
    problems: list[str] = []
    try:
        header = next(reader)
    except StopIteration:
        raise DirectoryError(
            [
                "line 1: the file is empty; the first line must be the header "
                + ",".join(REQUIRED_COLUMNS)
            ]
        ) from None
    except csv.Error as exc:
        raise DirectoryError([f"line 1: not valid CSV ({exc})"]) from None
    columns = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise DirectoryError(
            [
                f"line 1: the header lacks column(s) {', '.join(missing)}; it must name "
                f"{','.join(REQUIRED_COLUMNS)} (optional: {', '.join(OPTIONAL_COLUMNS)})"
            ]
        )
    contacts: list[Contact] = []
    first_line: dict[str, int] = {}
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(f"line {reader.line_num}: not valid CSV ({exc})")
            break
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue  # blank lines between blocks of clients are common in spreadsheets
        if len(row) > len(columns):
            problems.append(
                f"line {line}: {len(row)} fields but the header has {len(columns)}; "
                "quote a value that contains a comma"
            )
            continue
        values = dict(zip(columns, (cell.strip() for cell in row), strict=False))
        contact, faults = _contact(values, line)
        problems += [f"line {line}: {fault}" for fault in faults]
        if contact is None:
            continue
        if contact.client in first_line:
            problems.append(
                f"line {line}: client {contact.client!r} is already on line "
                f"{first_line[contact.client]}; each client key must be unique"
            )
            continue
        first_line[contact.client] = line
        contacts.append(contact)
    if problems:
        raise DirectoryError(problems)
    return Directory(tuple(contacts), where)


def _contact(values: dict[str, str], line: int) -> tuple[Contact | None, list[str]]:
    faults: list[str] = []
    client = values.get("client", "")
    if not client:
        faults.append("client is empty; every row needs its client key")
    channels = values.get("channels", "").lower() or "both"
    if channels not in CHANNELS:
        faults.append(
            f"channels {values.get('channels')!r} is not one of "
            f"{', '.join(CHANNELS)} (empty means both)"
        )
    zone = values.get("timezone") or None
    if zone is not None:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            faults.append(f"timezone {zone!r} is not an IANA time zone (e.g. America/Chicago)")
    language = normalize_tag(values.get("language")) if values.get("language") else None
    if values.get("language") and language is None:
        faults.append(
            f"language {values.get('language')!r} is not a BCP 47 language tag "
            "(e.g. es, es-MX; empty means the practice's)"
        )
    consent_raw = values.get("sms_consent", "").lower()
    consent: bool | None = None
    if consent_raw in _YES:
        consent = True
    elif consent_raw in _NO:
        consent = False
    elif consent_raw:
        faults.append(
            f"sms_consent {values.get('sms_consent')!r} is not yes, no, true or "
            "false (empty means not recorded)"
        )
    if faults:
        return None, faults
    name = " ".join(values.get("name", "").split())
    return Contact(
        client=client,
        name=name,
        email=values.get("email") or None,
        mobile=values.get("mobile") or None,
        channels=channels,
        timezone=zone,
        sms_consent=consent,
        first_name=values.get("first_name") or None,
        language=language,
        line=line,
    ), []


def apply_contact(participant: Participant, contact: Contact) -> Participant:
    """The participant with the contact's details filled in and its preferences applied.

    What the source says wins for details it has (its email may be newer than the
    spreadsheet); the directory's preferences override in one direction only: a channel
    the client declined is closed, whatever the source says.
    """
    sms = participant.sms_opt_in
    email = participant.email_opt_in
    if not contact.sms_allowed:
        sms = False
    if not contact.email_allowed:
        email = False
    return replace(
        participant,
        name=participant.name or contact.name,
        first_name=participant.first_name or contact.first_name,
        email=participant.email or contact.email,
        mobile=participant.mobile or contact.mobile,
        timezone=participant.timezone or contact.timezone,
        language=participant.language or contact.language,
        sms_opt_in=sms,
        email_opt_in=email,
    )


def from_contact(contact: Contact) -> Participant:
    """A participant built wholly from a contact (for a source that only named the client)."""
    return apply_contact(Participant(id=contact.client, name=contact.name), contact)


def join_appointment(
    appointment: Appointment, directory: Directory
) -> tuple[Appointment, list[str]]:
    """One appointment joined to the directory, and the problem lines it raised.

    A participant named only by text (id "") that matches no contact, or several, is
    dropped from the appointment (a message must never go to a guessed person) and
    reported, while the appointment itself stays listed so it never looks vanished.
    Problems are reported only for live telehealth sessions: nothing would be sent for a
    cancelled or in-person one, so a line about it would only be noise.
    """
    problems: list[str] = []
    joined: list[Participant] = []
    seen: set[str] = set()
    for participant in appointment.participants:
        if participant.id:
            contact = directory.get(participant.id)
            result: Participant | None = (
                apply_contact(participant, contact) if contact else participant
            )
        else:
            result, problem = _by_title(appointment.id, participant.name, directory)
            if problem and appointment.is_live_telehealth:
                problems.append(problem)
        if result is None or result.id in seen:
            continue  # the same client named twice is still one client
        seen.add(result.id)
        joined.append(result)
    joined_tuple = tuple(joined)
    if joined_tuple == appointment.participants:
        return appointment, problems
    return replace(appointment, participants=joined_tuple), problems


def _by_title(
    appointment_id: str, text: str, directory: Directory
) -> tuple[Participant | None, str | None]:
    matches = directory.match_title(text)
    if len(matches) == 1:
        return from_contact(matches[0]), None
    if not matches:
        return None, (
            f"appointment {appointment_id!r}: title {text!r} matches no contact in "
            f"{directory.where}"
        )
    names = ", ".join(f"{c.name} ({c.client})" for c in matches)
    return None, (
        f"appointment {appointment_id!r}: title {text!r} matches several contacts "
        f"in {directory.where}: {names}"
    )


def join_appointments(
    appointments: Iterable[Appointment], directory: Directory
) -> tuple[list[Appointment], list[str]]:
    """Every appointment joined to the directory, with all problem lines in order."""
    out: list[Appointment] = []
    problems: list[str] = []
    for appointment in appointments:
        joined, found = join_appointment(appointment, directory)
        out.append(joined)
        problems += found
    return out, problems
