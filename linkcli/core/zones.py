"""Which IANA zone a calendar feed's TZID names, or that it cannot be known for sure.

Pure: a name in, an IANA name (or None) out. The only data read are the IANA tz database
(`zoneinfo`) and CLDR's Windows-to-IANA table as icalendar ships it
(`icalendar.timezone.windows_to_olson`, generated from CLDR's windowsZones.xml).

DESIGN.md, "Time zones in feeds": a TZID the feed defines in a VTIMEZONE is used as
defined (the source does that, it holds the component); otherwise an IANA name, a
Windows zone name ("Eastern Standard Time", and Exchange's "tzone://Microsoft/Utc") or a
globally unique TZID whose tail is an IANA name (libical, Evolution, Thunderbird:
"/mozilla.org/20070129_1/America/New_York") maps to its IANA zone; an Exchange display
name ("(UTC-05:00) Eastern Time (US & Canada)") maps only when its text names exactly
one Windows zone and its stated offset is that zone's standard offset. Anything else
returns None: a session read at a guessed zone would get its 30-minute text at the wrong
moment, so the caller holds the record.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Exchange/OWA write a zone's Windows *display name* as the TZID when the calendar has no
# VTIMEZONE. Windows keeps these names in its registry only; no package here ships them
# (CLDR's windowsZones.xml carries them as comments, which icalendar's generated table
# drops). So this table maps the text after "(UTC±hh:mm) " to the Windows zone id, and
# CLDR's table takes it from there; a text missing here is unresolvable, never guessed.
# Entries: the zones a North American or European practice meets.
EXCHANGE_DISPLAY_NAMES: dict[str, str] = {
    "Eastern Time (US & Canada)": "Eastern Standard Time",
    "Indiana (East)": "US Eastern Standard Time",
    "Central Time (US & Canada)": "Central Standard Time",
    "Saskatchewan": "Canada Central Standard Time",
    "Central America": "Central America Standard Time",
    "Guadalajara, Mexico City, Monterrey": "Central Standard Time (Mexico)",
    "Mountain Time (US & Canada)": "Mountain Standard Time",
    "Arizona": "US Mountain Standard Time",
    "Pacific Time (US & Canada)": "Pacific Standard Time",
    "Baja California": "Pacific Standard Time (Mexico)",
    "Alaska": "Alaskan Standard Time",
    "Hawaii": "Hawaiian Standard Time",
    "Atlantic Time (Canada)": "Atlantic Standard Time",
    "Newfoundland": "Newfoundland Standard Time",
    "Bogota, Lima, Quito, Rio Branco": "SA Pacific Standard Time",
    "Georgetown, La Paz, Manaus, San Juan": "SA Western Standard Time",
    "Coordinated Universal Time": "UTC",
    "Dublin, Edinburgh, Lisbon, London": "GMT Standard Time",
    "Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna": "W. Europe Standard Time",
    "Brussels, Copenhagen, Madrid, Paris": "Romance Standard Time",
    "Belgrade, Bratislava, Budapest, Ljubljana, Prague": "Central Europe Standard Time",
    "Sarajevo, Skopje, Warsaw, Zagreb": "Central European Standard Time",
    "Athens, Bucharest": "GTB Standard Time",
    "Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius": "FLE Standard Time",
    "Canberra, Melbourne, Sydney": "AUS Eastern Standard Time",
    "Auckland, Wellington": "New Zealand Standard Time",
}

# Exchange's own ids for zones it has no Windows name for: only UTC is one zone for sure
# ("tzone://Microsoft/Custom" is whatever the organizer set up, so it stays unresolved).
MICROSOFT_ZONE_IDS: dict[str, str] = {"tzone://microsoft/utc": "UTC"}

# "(UTC-05:00) Eastern Time (US & Canada)", "(GMT-05:00) ...", "(UTC) Coordinated ...".
_DISPLAY = re.compile(
    r"^\((?:UTC|GMT)\s*(?:(?P<sign>[+-])(?P<h>\d{1,2}):?(?P<m>\d{2}))?\)\s*(?P<text>.*)$"
)


def resolve_tzid(tzid: str) -> str | None:
    """The IANA zone a TZID not defined in the feed stands for, or None if not certain."""
    name = tzid.strip().strip('"').strip()
    if not name:
        return None
    if _is_iana(name):
        return name
    windows = _windows_to_iana(name) or MICROSOFT_ZONE_IDS.get(name.lower())
    if windows is not None:
        return windows
    if name.startswith("/"):
        # A globally unique TZID: a vendor prefix before an IANA name. The longest tail
        # that is one wins, so America/Argentina/Buenos_Aires is not cut short.
        parts = name.strip("/").split("/")
        for start in range(1, len(parts)):
            tail = "/".join(parts[start:])
            if "/" in tail and _is_iana(tail):
                return tail
        return None
    return _display_name(name)


def _display_name(name: str) -> str | None:
    match = _DISPLAY.match(" ".join(name.split()))
    if match is None:
        return None
    text = match.group("text").strip()
    # Some exporters spell the ampersand out or HTML-escape it ("(US and Canada)", as in
    # node-ical's Exchange samples): the same name, not a different zone.
    spelled = text.replace("&amp;", "&").replace(" and ", " & ")
    windows = EXCHANGE_DISPLAY_NAMES.get(text) or EXCHANGE_DISPLAY_NAMES.get(spelled)
    iana = _windows_to_iana(windows) if windows else None
    if iana is None:
        return None
    stated = timedelta(0)
    if match.group("sign"):
        stated = timedelta(hours=int(match.group("h")), minutes=int(match.group("m")))
        stated = -stated if match.group("sign") == "-" else stated
    # The offset in the name must be the zone's standard offset: a name edited by hand,
    # or one whose zone changed its rules, is not trusted.
    return iana if _standard_offset(iana) == stated else None


@functools.cache
def _standard_offset(iana: str) -> timedelta | None:
    zone = ZoneInfo(iana)
    for month in (1, 7):  # one of the two is standard time in either hemisphere
        moment = datetime(2025, month, 15, 12, tzinfo=zone)
        if not moment.dst():
            return moment.utcoffset()
    return None


def _windows_to_iana(name: str) -> str | None:
    from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

    iana = WINDOWS_TO_OLSON.get(name)
    return iana if iana is not None and _is_iana(iana) else None


@functools.cache
def _is_iana(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
