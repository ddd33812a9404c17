"""The `ics` source and its presets `simplepractice` and `therapynotes`: calendar feeds.

SimplePractice and TherapyNotes publish no API, only a calendar-sync feed per clinician
(DESIGN.md, "Where appointments come from"). Each configured feed is one therapist's
calendar, read by https URL (plain http only for a loopback host) or from a local path:

    [source]
    kind = "simplepractice"
    feeds = [{ therapist = "th-1", url = "https://.../th-1.ics" }]
    timeout = 20

Every feed is read before anything is listed, and any feed that cannot be read or is not
a calendar fails the whole listing (SourceError, exit 3): a partial read must never make
the other therapists' sessions look cancelled. One malformed event is reported and skipped.

Rules, per event expanded inside the window:
- id: the UID; a session of a recurring series is `UID/ORIGINAL-START` (its RECURRENCE-ID
  in UTC), so a moved session keeps its id and reads as rescheduled, not cancel + create;
  an override with RANGE=THISANDFUTURE moves every later session, each under its own id.
- all-day events are not sessions and are ignored; STATUS:CANCELLED means canceled.
- link: the first https URL in LOCATION, URL, DESCRIPTION that the [links] policy accepts;
  else one in LOCATION or URL even if refused (the operator then sees why); links found
  only in DESCRIPTION and refused are incidental text (help pages, maps) and ignored. The
  simplepractice preset prefers video.simplepractice.com and never takes another
  simplepractice.com page (those are the clinician's, behind their login). The
  therapynotes preset takes no link at all: clients join the therapist's TherapyPortal
  waiting room, `[therapists."ID"] link`.
- format: telehealth when a link was found or LOCATION reads like a video session (a URL,
  or words such as telehealth, video, virtual, online, zoom); in_person when LOCATION is
  anything else (an address, "Office 2"); telehealth when there is no LOCATION.
- participant: the SUMMARY text as a name-only participant (id ""), joined to the
  contacts directory by sync; the feeds carry no phone or email.
"""

from __future__ import annotations

import functools
import re
import ssl
import unicodedata
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import httpx

from linkcli.config import Config
from linkcli.core.links import LinkPolicy
from linkcli.core.model import Appointment, Participant, Therapist
from linkcli.core.zones import resolve_tzid
from linkcli.errors import ConfigError, SourceError
from linkcli.private_file import read_input
from linkcli.sources.base import Listing, Window
from linkcli.sources.http import USER_AGENT

KINDS = ("ics", "simplepractice", "therapynotes")
DEFAULT_TIMEOUT = 20.0
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_URL = re.compile(r"https://[^\s<>\"'\\]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}>'\""
_VIDEO_WORDS = re.compile(
    r"(?<!\w)(telehealth|tele-health|telemedicine|teletherapy|telepsychiatry|video|virtual|"
    r"online|zoom|doxy(\.me)?|google meet|teams|webex|therapyportal)(?!\w)",
    re.IGNORECASE,
)
_SP_VIDEO_HOST = "video.simplepractice.com"
_MARGIN = timedelta(days=1)
# Where an event's zone could not be resolved, _parse leaves the reason here for the
# record's own check (so an old event outside the window is never reported).
_ZONE_PROBLEM = "X-LINKCLI-ZONE-PROBLEM"
_ZONED = ("RECURRENCE-ID", "DTSTART", "DTEND", "EXDATE", "RDATE")
# A date inside a raw value or parameter (a broken property still shows when it was).
_RAW_DATE = re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?:T\d{6}Z?)?(?!\d)")
_SHOWN_MAX = 80


class FeedError(Exception):
    """One VEVENT (or series) cannot be used; `record_id` is the id it would have had."""

    def __init__(self, record_id: str | None, message: str, whole_series: bool = False):
        super().__init__(message)
        self.record_id = record_id
        self.message = message
        self.whole_series = whole_series


@dataclass(frozen=True)
class Feed:
    """One therapist's calendar: an https/loopback-http URL, or a local file."""

    therapist: Therapist
    url: str | None = None
    path: Path | None = None

    @property
    def label(self) -> str:
        """How problems name the feed (never the URL: feed URLs embed a secret token)."""
        return f"feed for therapist {self.therapist.id!r}"


class IcsSource:
    """Reads every configured feed, then lists the sessions of the window."""

    def __init__(
        self,
        kind: str,
        feeds: list[Feed],
        links: LinkPolicy,
        floating_zone: str,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.kind = kind
        self.name = f"{kind} feeds"
        self.feeds = feeds
        self.links = links
        self.floating_zone = ZoneInfo(floating_zone)
        self.timeout = timeout
        self.requests = 0  # counted for the figures in the docs and benchmarks

    def fetch(self, window: Window) -> Listing:
        """All sessions starting in the window, from every feed; any unreadable feed fails all."""
        # A parsing library's warnings (icalendar's GloballyUniqueTZIDGuessed, ...) must
        # never reach cron mail: real problems are reported once, in linkcli's words.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self._fetch(window)

    def _fetch(self, window: Window) -> Listing:
        calendars = []
        # Only feeds read over HTTP need a client (and the CA bundle it loads).
        client = (
            httpx.Client(
                timeout=self.timeout,
                verify=_ssl_context(),
                follow_redirects=True,
                headers={"User-Agent": USER_AGENT, "Accept": "text/calendar, */*;q=0.5"},
                event_hooks={"request": [_refuse_plain_http]},
            )
            if any(feed.url for feed in self.feeds)
            else None
        )
        try:
            # Read everything first: one broken feed must fail the listing before any
            # event of the others is listed.
            for feed in self.feeds:
                calendars.append((feed, _parse(feed, self._read(feed, client))))
        finally:
            if client is not None:
                client.close()
        listing = Listing()
        seen: dict[str, str] = {}
        for feed, calendar in calendars:
            for appointment in self._appointments(feed, calendar, window, listing):
                if appointment.id in seen:
                    # A shared UID in two therapists' feeds is one session; listing it twice
                    # would send its client two sets of messages.
                    listing.problems.append(
                        f"{feed.label}: record {appointment.id!r} is also in the feed for "
                        f"therapist {seen[appointment.id]!r}; listed once, under that one"
                    )
                    continue
                seen[appointment.id] = feed.therapist.id
                listing.appointments.append(appointment)
        return listing

    def _read(self, feed: Feed, client: httpx.Client | None) -> bytes:
        if feed.path is not None:
            try:
                return read_input(feed.path)
            except FileNotFoundError:
                raise SourceError(
                    f"{feed.label}: file {feed.path} does not exist; nothing was changed"
                ) from None
            except OSError as exc:
                raise SourceError(
                    f"{feed.label}: cannot read {feed.path} "
                    f"({exc.strerror or exc}); nothing was changed"
                ) from None
        assert feed.url is not None and client is not None
        host = httpx.URL(feed.url).host
        self.requests += 1
        try:
            response = client.get(feed.url)
        except _PlainHttp:
            raise SourceError(
                f"{feed.label}: {host} redirected to a plain-http address; "
                "refused; nothing was changed"
            ) from None
        except httpx.TimeoutException:
            raise SourceError(
                f"{feed.label}: timed out reading {host}; nothing was changed "
                "(will retry next sync)"
            ) from None
        except httpx.HTTPError as exc:
            raise SourceError(
                f"{feed.label}: cannot reach {host} ({type(exc).__name__}); nothing was changed"
            ) from None
        status = response.status_code
        if status in (401, 403, 404, 410):
            raise SourceError(
                f"{feed.label}: HTTP {status} from {host}; the feed address may have been "
                "reset: copy the current one from the calendar-sync settings into "
                "[source] feeds; nothing was changed"
            )
        if status >= 400:
            raise SourceError(f"{feed.label}: HTTP {status} from {host}; nothing was changed")
        return response.content

    def _appointments(
        self, feed: Feed, calendar: Any, window: Window, listing: Listing
    ) -> Iterator[Appointment]:
        import recurring_ical_events

        groups: dict[str, list[Any]] = {}
        for event in calendar.walk("VEVENT"):
            uid = str(event.get("UID") or "").strip()
            if _outside(event, window):
                # Years of history: an old event is neither checked nor reported, so a
                # broken one from 2020 never makes a sync noisy or the listing incomplete.
                continue
            if not uid:
                summary = str(event.get("SUMMARY") or "").strip()
                # Without a UID there is no id to keep, so nothing may vanish this sync.
                listing.skip(
                    f"{feed.label}: a record without a UID (title {_shown(summary)}) skipped",
                    None,
                )
                continue
            groups.setdefault(uid, []).append(event)
        for uid, events in groups.items():
            series = len(events) > 1 or any(
                e.get("RRULE") or e.get("RDATE") or e.get("RECURRENCE-ID") for e in events
            )
            occurrences: list[tuple[Any, datetime, datetime | None, datetime | None]]
            try:
                if not series:
                    occurrences = list(_single(events[0], uid, self.floating_zone))
                else:
                    occurrences = self._series(
                        uid, events, window, listing, feed, recurring_ical_events
                    )
                for event, start, end, rid in occurrences:
                    if start not in window:
                        continue
                    aid = f"{uid}/{rid:%Y%m%dT%H%M%SZ}" if rid is not None else uid
                    yield self._appointment(feed, event, aid, start, end)
            except FeedError as exc:
                self._skip(feed, listing, exc)

    def _series(
        self,
        uid: str,
        events: list[Any],
        window: Window,
        listing: Listing,
        feed: Feed,
        rie: Any,
    ) -> list[tuple[Any, datetime, datetime | None, datetime | None]]:
        zone = self.floating_zone
        good = []
        broken: set[str] = set()
        for event in events:
            try:
                _check(event, uid, zone)
                good.append(event)
            except FeedError as exc:
                if event.get("RECURRENCE-ID") is None or exc.record_id is None:
                    # The master of a series: its sessions' ids cannot be named.
                    raise FeedError(uid, exc.message, whole_series=True) from None
                broken.add(exc.record_id)
                self._skip(feed, listing, exc)
        if all(
            isinstance(_dt(e, "DTSTART", uid, zone), date)
            and not isinstance(_dt(e, "DTSTART", uid, zone), datetime)
            for e in good
        ):
            return []  # an all-day series (holidays, "office closed"), not sessions
        import icalendar

        mini = icalendar.Calendar()
        for event in good:
            _until_as_meant(event, _dt(event, "DTSTART", uid, zone))
            mini.add_component(event)
        shifts = _future_shifts(good, uid, zone)
        try:
            # A day's margin each side: floating times are compared as if UTC here, and
            # the exact half-open window is applied to the real instants afterwards.
            found = list(rie.of(mini).between(window.start - _MARGIN, window.end + _MARGIN))
        except Exception as exc:  # the library's errors are as varied as bad feeds are
            raise FeedError(
                uid, f"the recurrence cannot be expanded ({exc})", whole_series=True
            ) from None
        out: list[tuple[Any, datetime, datetime | None, datetime | None]] = []
        for event in found:
            start = _dt(event, "DTSTART", uid, zone)
            if not isinstance(start, datetime):
                continue  # an all-day occurrence
            rid_value = _dt(event, "RECURRENCE-ID", uid, zone)
            rid = _utc(rid_value, zone) if isinstance(rid_value, datetime) else _utc(start, zone)
            if rid_value is not None and rid in shifts:
                # Moved by a RANGE=THISANDFUTURE override, whose RECURRENCE-ID every later
                # session carries: each keeps the id of its own original slot.
                rid = _utc(start - shifts[rid], zone)
            if f"{uid}/{rid:%Y%m%dT%H%M%SZ}" in broken:
                continue  # the master's slot would resurrect a broken override's old time
            end = _dt(event, "DTEND", uid, zone)
            out.append(
                (
                    event,
                    _utc(start, zone),
                    _utc(end, zone) if isinstance(end, datetime) else None,
                    rid,
                )
            )
        return out

    def _skip(self, feed: Feed, listing: Listing, exc: FeedError) -> None:
        label = f"record {exc.record_id!r}" if exc.record_id else "a record"
        problem = f"{feed.label}: {label} skipped: {exc.message}"
        listing.skip(problem, exc.record_id)
        if exc.whole_series:
            # The series' sessions carry ids UID/START that cannot be named without a
            # usable master; keeping all of them safe means nothing vanishes this sync.
            listing.complete = False
            listing.problems[-1] += (
                "; until it is fixed, sessions missing from the feeds are not treated as cancelled"
            )

    def _appointment(
        self, feed: Feed, event: Any, aid: str, start: datetime, end: datetime | None
    ) -> Appointment:
        status = str(event.get("STATUS") or "").strip().upper()
        location = _text(event.get("LOCATION"))
        link = None if self.kind == "therapynotes" else self._link(event)
        if link or _VIDEO_WORDS.search(location) or "://" in location:
            fmt = "telehealth"
        elif location:
            fmt = "in_person"
        else:
            fmt = "telehealth"
        summary = " ".join(_text(event.get("SUMMARY")).split())
        modified = event.get("LAST-MODIFIED")
        updated = None
        try:
            value = modified.dt if modified is not None else None
            if isinstance(value, datetime):
                updated = _utc(value, self.floating_zone)
        except Exception:  # a broken LAST-MODIFIED costs nothing but the timestamp
            updated = None
        return Appointment(
            id=aid,
            status="canceled" if status == "CANCELLED" else "scheduled",
            start=start,
            end=end if end is not None and end >= start else None,
            therapist=feed.therapist,
            participants=(Participant(id="", name=summary),),
            format=fmt,
            telehealth_url=link,
            updated_at=updated,
        )

    def _link(self, event: Any) -> str | None:
        fields = [_urls(_text(event.get(key))) for key in ("LOCATION", "URL", "DESCRIPTION")]
        if self.kind == "simplepractice":
            fields = [[u for u in urls if _sp_allowed(u)] for urls in fields]
            videos = [u for urls in fields for u in urls if _host(u) == _SP_VIDEO_HOST]
            if videos:
                return videos[0]
        for urls in fields:
            for url in urls:
                if self.links.check(url) is None:
                    return url
        for urls in fields[:2]:
            if urls:
                return urls[0]
        return None


class _PlainHttp(Exception):
    """A redirect led to plain http off the loopback host."""


def _refuse_plain_http(request: httpx.Request) -> None:
    # Checked on every hop, before it is sent: a redirect must not downgrade the read of
    # a feed whose address and contents are private.
    if request.url.scheme != "https" and request.url.host not in _LOOPBACK:
        raise _PlainHttp()


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle costs ~60 ms; one context serves every feed of the run.
    return httpx.create_ssl_context()


def _sp_allowed(url: str) -> bool:
    host = _host(url)
    return host == _SP_VIDEO_HOST or not (
        host == "simplepractice.com" or host.endswith(".simplepractice.com")
    )


def _host(url: str) -> str:
    try:
        return (urlparse(url).hostname or "").lower()
    except ValueError:
        return ""


def _urls(text: str) -> list[str]:
    return [m.group(0).rstrip(_TRAILING) for m in _URL.finditer(text)]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):  # a property given twice
        value = value[0] if value else ""
    return str(value).strip()


def _dt(event: Any, key: str, uid: str, zone: tzinfo) -> Any:
    """The decoded value of a date property, or None; FeedError when it is broken."""
    prop = event.get(key)
    if prop is None:
        return None
    try:
        return prop.dt
    except Exception:
        raw = _raw(key, prop)
        # The parameters too: a date may sit inside a quoted TZID, with no value after it.
        shown = _shown(raw.partition(";")[2] or raw.partition(":")[2])
        raise FeedError(
            _rid(event, uid, zone), f"{key} {shown} is not a valid date or date-time"
        ) from None


def _rid(event: Any, uid: str, zone: tzinfo) -> str | None:
    """The id of an override (UID/RECURRENCE-ID), or the UID; None if even that is unknown."""
    prop = event.get("RECURRENCE-ID")
    if prop is None:
        return uid
    try:
        value = prop.dt
    except Exception:
        return None
    if isinstance(value, datetime):
        return f"{uid}/{_utc(value, zone):%Y%m%dT%H%M%SZ}"
    return None


def _check(event: Any, uid: str, zone: tzinfo) -> None:
    """Raise FeedError when the event's times cannot be used."""
    problem = event.get(_ZONE_PROBLEM)
    if problem is not None:
        raise FeedError(_rid(event, uid, zone), str(problem))
    start = _dt(event, "DTSTART", uid, zone)
    if start is None:
        raise FeedError(_rid(event, uid, zone), "DTSTART is missing")
    _dt(event, "RECURRENCE-ID", uid, zone)
    end = _dt(event, "DTEND", uid, zone)
    duration = event.get("DURATION")
    if duration is not None:
        try:
            duration.dt  # noqa: B018 - decoding is the check
        except Exception:
            raise FeedError(_rid(event, uid, zone), "DURATION is not valid") from None
    if (
        isinstance(start, datetime)
        and isinstance(end, datetime)
        and (_utc(end, zone) < _utc(start, zone))
    ):
        raise FeedError(_rid(event, uid, zone), "DTEND is before DTSTART")


def _single(
    event: Any, uid: str, zone: tzinfo
) -> list[tuple[Any, datetime, datetime | None, datetime | None]]:
    _check(event, uid, zone)
    start = _dt(event, "DTSTART", uid, zone)
    if not isinstance(start, datetime):
        return []  # an all-day event is not a session
    start_utc = _utc(start, zone)
    end = _dt(event, "DTEND", uid, zone)
    end_utc: datetime | None = None
    if isinstance(end, datetime):
        end_utc = _utc(end, zone)
    elif event.get("DURATION") is not None and isinstance(event.get("DURATION").dt, timedelta):
        end_utc = start_utc + event.get("DURATION").dt
    return [(event, start_utc, end_utc, None)]


def _future_shifts(events: list[Any], uid: str, zone: tzinfo) -> dict[datetime, timedelta]:
    """RANGE=THISANDFUTURE overrides: their RECURRENCE-ID (UTC) -> how far they move each
    session from theirs on (a wall-clock difference when both times share a zone)."""
    shifts = {}
    for event in events:
        prop = event.get("RECURRENCE-ID")
        params = getattr(prop, "params", None) or {}
        if str(params.get("RANGE", "")).upper() != "THISANDFUTURE":
            continue
        rid, start = _dt(event, "RECURRENCE-ID", uid, zone), _dt(event, "DTSTART", uid, zone)
        if isinstance(rid, datetime) and isinstance(start, datetime):
            shifts[_utc(rid, zone)] = start - rid
    return shifts


def _until_as_meant(event: Any, start: Any) -> None:
    """Read a rule's UNTIL as its feed meant it where it is not typed as RFC 5545 asks.

    A date (`UNTIL=20261109`) after a DTSTART with a time, or a time without zone after a
    zoned DTSTART, is written by some exporters; the library would end the series at
    midnight or at that time in UTC, so the series' last session would silently not be
    listed. The date is read as that whole day, the time in DTSTART's own zone.
    """
    rules = event.get("RRULE")
    if rules is None or not isinstance(start, datetime):
        return
    for rule in rules if isinstance(rules, list) else [rules]:
        try:
            untils = rule.get("UNTIL")
        except Exception:  # a broken rule: reported when the series is expanded
            continue
        if not untils:
            continue
        until = untils[0]
        if not isinstance(until, datetime):
            until = datetime.combine(until, time(23, 59, 59))
        elif until.tzinfo is not None or start.tzinfo is None:
            continue  # typed as asked (UTC after a zoned start, floating after floating)
        if start.tzinfo is not None:
            until = until.replace(tzinfo=start.tzinfo).astimezone(UTC)
        rule["UNTIL"] = [until]


def _utc(value: datetime, zone: tzinfo) -> datetime:
    """An instant in UTC; a floating time is read in the calendar's (or practice's) zone."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def _parse(feed: Feed, body: bytes) -> Any:
    """The feed as an icalendar Calendar, X-WR-TIMEZONE applied; SourceError if not one."""
    import icalendar

    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:200].upper()
    if not head.startswith(b"BEGIN:VCALENDAR"):
        shown = "an empty body" if not body.strip() else "something else (an HTML page?)"
        raise SourceError(
            f"{feed.label}: expected a calendar (BEGIN:VCALENDAR) but got "
            f"{shown}; nothing was changed"
        )
    try:
        calendar = icalendar.Calendar.from_ical(body)
    except Exception as exc:  # icalendar raises ValueError and friends on a bad whole
        raise SourceError(
            f"{feed.label}: not a readable calendar ({_short(exc)}); nothing was changed"
        ) from None
    _resolve_zones(calendar)
    if calendar.get("X-WR-TIMEZONE"):
        # Google-style feeds give times in UTC meaning the calendar's zone; convert them so
        # weekly sessions keep their wall-clock time across DST.
        try:
            import x_wr_timezone

            calendar = x_wr_timezone.to_standard(calendar)
        except Exception:  # an unknown zone name: the UTC instants still stand as given
            pass
    return calendar


def _resolve_zones(calendar: Any) -> None:
    """Give every TZID-qualified time of every event the zone its TZID means.

    icalendar reads a TZID it does not know as a floating time, silently (so an Exchange
    display name would be read in the practice's zone), and resolves TZIDs through a
    process-wide cache that another feed's VTIMEZONE may have filled. Here each time
    keeps its wall-clock value and gets: the zone this feed's VTIMEZONE defines for that
    TZID, else the IANA zone `resolve_tzid` finds for certain. Each property keeps its
    own zone (DTSTART and DTEND may differ). An event with a TZID that resolves to
    neither is marked, and its own check reports it, naming the TZID (never guessed).
    """
    definitions = {
        str(c.get("TZID") or "").strip(): c for c in calendar.walk("VTIMEZONE") if c.get("TZID")
    }
    zones: dict[str, tzinfo | None] = {}

    def zone_of(tzid: str) -> tzinfo | None:
        if tzid not in zones:
            found: tzinfo | None = None
            component = definitions.get(tzid)
            if component is not None:
                try:
                    found = component.to_tz(lookup_tzid=False)  # as the feed defines it
                except Exception:  # an unusable definition counts as none
                    found = None
            if found is None:
                iana = resolve_tzid(tzid)
                found = ZoneInfo(iana) if iana else None
            zones[tzid] = found
        return zones[tzid]

    for event in calendar.walk("VEVENT"):
        event.pop(_ZONE_PROBLEM, None)  # only linkcli may set it
        for key in _ZONED:
            props = event.get(key)
            for prop in props if isinstance(props, list) else [props]:
                params = getattr(prop, "params", None)
                tzid = str(params.get("TZID") or "").strip() if params is not None else ""
                values = _values(prop)
                if not tzid or not any(_readable(v) for v in values):
                    continue  # a broken value is reported by its own check, quoted
                zone = zone_of(tzid)
                if zone is None:
                    if _ZONE_PROBLEM in event:
                        continue  # the first unresolved property is the one named
                    event[_ZONE_PROBLEM] = (
                        f"time zone {_shown(tzid)} ({key}) is not defined in the feed and is "
                        "not a known zone name; not guessed: the session waits until the "
                        "event or the calendar's time zones are fixed"
                    )
                    continue
                for value in values:
                    moment = value.dt if _readable(value) else None
                    if isinstance(moment, datetime):
                        value.dt = moment.replace(tzinfo=zone)


def _values(prop: Any) -> list[Any]:
    """The date values of a property: one, or each of a list (EXDATE, RDATE)."""
    try:
        dts = prop.dts  # a broken property raises here, not AttributeError
    except Exception:
        return [prop]
    return list(dts) if isinstance(dts, list) else [prop]


def _readable(value: Any) -> bool:
    try:
        value.dt  # noqa: B018 - decoding is the check
    except Exception:
        return False
    return True


def _outside(event: Any, window: Window) -> bool:
    """Whether an event surely has no session near the window (history, far future).

    Judged on the raw dates alone, so even a broken old event is recognised: a single
    event or an override by its DTSTART and RECURRENCE-ID; a series by its start and
    the UNTIL of its RRULE. An event with no readable date is not outside (it is checked
    and reported). The margin covers any zone the wall-clock dates may be in.
    """
    first = (window.start - 2 * _MARGIN).date()
    last = (window.end + 2 * _MARGIN).date()
    starts = _raw_dates(event, "DTSTART")
    if event.get("RRULE") is not None or event.get("RDATE") is not None:
        if starts and min(starts) > last:
            return True
        if event.get("RDATE") is not None:
            return False
        rules = event.get("RRULE")
        # Read from the raw rule, so a rule the library could not parse is judged too;
        # a rule without UNTIL may reach the window.
        for rule in rules if isinstance(rules, list) else [rules]:
            until = re.search(r"UNTIL=([0-9TZ]+)", _raw("RRULE", rule), re.IGNORECASE)
            ends = _raw_dates_in(until.group(1)) if until else []
            if not ends or max(ends) >= first:
                return False
        return True
    dates = starts + _raw_dates(event, "RECURRENCE-ID")
    return bool(dates) and all(d < first or d > last for d in dates)


def _raw_dates(event: Any, key: str) -> list[date]:
    prop = event.get(key)
    return _raw_dates_in(_raw(key, prop)) if prop is not None else []


def _raw_dates_in(text: str) -> list[date]:
    found = []
    for match in _RAW_DATE.finditer(text):
        try:
            found.append(date(int(match[1]), int(match[2]), int(match[3])))
        except ValueError:
            continue
    return found


def _raw(key: str, prop: Any) -> str:
    """A property as it stood in the feed, near enough: `KEY;PARAM=VALUE:value`."""
    params = getattr(prop, "params", None) or {}
    try:
        value = prop.to_ical()
    except Exception:
        value = b""
    text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
    shown_params = "".join(
        f";{name}={v}" if ":" not in str(v) and ";" not in str(v) else f';{name}="{v}"'
        for name, v in params.items()
    )
    return f"{key}{shown_params}:{text}"


def _shown(text: str) -> str:
    """Feed text quoted for a problem line: control and invisible characters replaced,
    whitespace collapsed, shortened (a feed is untrusted and lines go to cron mail)."""
    clean = "".join("?" if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    clean = " ".join(clean.split())
    if len(clean) > _SHOWN_MAX:
        clean = clean[: _SHOWN_MAX - 3] + "..."
    return repr(clean)


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:120] + ("..." if len(text) > 120 else "")


def _feeds(config: Config) -> list[Feed]:
    """One Feed per `[source] feeds` entry. The config reader has checked them (tables,
    one per therapist, a usable url, TherapyNotes links, [contacts] path), each problem
    with its line; entries it refused never reach here."""
    feeds: list[Feed] = []
    for item in config.source.settings.get("feeds", []):
        tid, url = str(item["therapist"]).strip(), str(item["url"]).strip()
        location = _location(url, config.base_dir)
        if location is None:  # refused by the reader already; never fetched
            raise ConfigError(f"source.feeds: {url!r} cannot be read", str(config.path))
        settings_t = config.therapists.get(tid)
        therapist = Therapist(
            id=tid,
            name=(settings_t.name if settings_t and settings_t.name else None) or tid,
            display_name=settings_t.display_name if settings_t else None,
        )
        feeds.append(Feed(therapist, *location))
    return feeds


def _location(url: str, base: Path) -> tuple[str | None, Path | None] | None:
    """(url, None) for a feed to fetch, (None, path) for a local file, None if refused."""
    if url.lower().startswith("webcal://"):
        url = "https://" + url[len("webcal://") :]  # calendar apps' name for an https feed
    parsed = urlparse(url)
    if parsed.scheme == "https" and parsed.hostname:
        return url, None
    if parsed.scheme == "http" and parsed.hostname in _LOOPBACK:
        return url, None
    if parsed.scheme == "file":
        return None, Path(parsed.path)
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and url[1:3] in (":\\", ":/")):
        return None, (base / Path(url).expanduser()).resolve()  # relative to the config
    return None


def build(config: Config, env: Mapping[str, str], now: datetime) -> IcsSource:
    """The feed source for kinds ics, simplepractice and therapynotes."""
    timeout = config.source.settings.get("timeout", DEFAULT_TIMEOUT)  # checked on read
    return IcsSource(
        config.source.kind,
        _feeds(config),
        config.links,
        config.practice.timezone,
        float(timeout),
    )
