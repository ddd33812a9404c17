"""The `calendly` source: Calendly API v2 scheduled events and their invitees.

One listing reads, with a personal access token (`CALENDLY_TOKEN`):

1. `GET /users/me` for the token owner's user URI and `current_organization`;
2. `GET /organization_memberships?user=…&organization=…` for the owner's role: an owner
   or admin reads the whole organization's events (`organization=`), anyone else their
   own (`user=`) — DESIGN.md, "Source configuration";
3. `GET /scheduled_events` for the sync window, active and canceled together (the
   `status` filter is left off, which returns both in one listing), 100 per page,
   following `pagination.next_page_token` / `next_page`;
4. `GET /scheduled_events/{uuid}/invitees` (paged too) for each active event whose
   invitees are not already cached for its current version.

Each event becomes one canonical `Appointment`: id = the event uuid; the therapist is
the event's host (`event_memberships[0].user_email`, the id `[therapists."EMAIL"]` is
keyed by; where a membership carries only `user`, its URI, the user is read once with
`GET /users/{uuid}` and kept in the cache below; a user that cannot be read skips its
events as malformed records, not the listing); participants are the active invitees
(id = email, lowercased; mobile = `text_reminder_number`); the link is
`location.join_url`.

Reschedules. Calendly records a move as the old invitee canceled with
`rescheduled: true` (and `new_invitee` pointing at the new booking) plus a new event
with a new uuid. This source does not try to join the two: the old event's
appointment turns canceled (Calendly cancels a one-on-one event, and an event whose
invitees are all canceled counts as canceled here), which withdraws its pending sends,
and the new event is created with its own sequence and link. So a moved client gets the
new event's messages only (its confirmation among them, after the first sync); nothing
is sent by the source itself. Because a move is a cancel plus a create, the core sees no
`rescheduled` change for Calendly, so its same-day-move attention item does not arise.
In a group event, a rescheduled invitee simply leaves the old event's participants.

Format. Zoom, Google Meet, Teams, Webex and GoToMeeting locations are telehealth with
`join_url` as the link (None until Calendly has created the meeting: the core holds the
link messages and flags it). A custom or invitee-typed location containing a URL is
telehealth with that URL; one without (an address) is in person, and so are physical and
phone-call locations: linkcli sends nothing for those. An event with no location, or a
type unknown here without a join_url, is telehealth without a link, so a human looks.

Rate limits. A 429 whose reset is at most 60 s away is waited out once per sync, not
once per request; a second 429, or a far reset, fails the listing and says when to retry.

Invitee cache. Invitees are the expensive part (one request per event, every sync, on a
rate-limited API: 50 requests/minute on Calendly's free plan). They are kept in a small
JSON file next to the store (`cache_path`, default `<store>.calendly-cache.json`, mode
0600 because it holds client contact details), keyed by event uuid and valid while the
event's `updated_at` and invitee counts are unchanged. Only events still in the window
are kept. A missing, unreadable or corrupt cache is ignored (everything is re-read);
a cache that cannot be written costs requests next time, never a failed sync.

Errors. Any page that cannot be read (HTTP error, timeout, not JSON, no `collection`)
fails the whole listing with a `SourceError` naming calendly and the reason (exit 3,
nothing changed); one malformed event is reported and skipped.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

import httpx

from linkcli.config import Config, TherapistConfig
from linkcli.core.model import (
    Appointment,
    Participant,
    RecordError,
    Therapist,
    parse_instant,
    parse_participant,
)
from linkcli.errors import SourceError
from linkcli.private_file import write_private
from linkcli.sources.base import Listing, Window
from linkcli.sources.http import HttpSource, rate_limit_delay, secret

DEFAULT_BASE_URL = "https://api.calendly.com"
DEFAULT_TOKEN_ENV = "CALENDLY_TOKEN"
DEFAULT_TIMEOUT = 20.0
CACHE_SUFFIX = ".calendly-cache.json"
PAGE_SIZE = 100  # Calendly's maximum `count`: fewest requests per listing
MAX_PAGES = 1000  # a server that never stops paging must not hold the cron lock forever
ADMIN_ROLES = frozenset({"owner", "admin"})

# Location types that are a video meeting: the session is telehealth and its link is
# `join_url` (None while Calendly has not created the meeting yet; the core then holds
# the link messages and puts the appointment in `attention`).
VIDEO_TYPES = frozenset(
    {
        "zoom_conference",
        "google_conference",
        "microsoft_teams_conference",
        "webex_conference",
        "gotomeeting_conference",
    }
)
# Phone sessions have no link to deliver: like in-person ones, linkcli sends nothing
# (marking them telehealth would put every phone session in `attention` as "no link").
NO_LINK_TYPES = frozenset({"physical", "inbound_call", "outbound_call"})
# Free-text locations (host's custom text, or text the invitee typed): a URL there is a
# video link (Doxy.me, a clinic portal); any other text is a place.
TEXT_TYPES = frozenset({"custom", "ask_invitee"})

_URL = re.compile(r"https?://\S+", re.IGNORECASE)

CACHE_VERSION = 1
_CACHED_FIELDS = ("id", "name", "first_name", "email", "mobile", "timezone")


class InviteeCache:
    """Active invitees of events already read, valid while the event is unchanged.

    `path` None disables the cache. Nothing here may fail a sync: a bad file reads as
    empty and a failed write is dropped (it only costs requests on the next sync).
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, dict[str, Any]] = {}
        # Hosts named only by their user URI: uri -> {"email", "name"} (a host's email
        # and name change rarely; a user no event names any more is dropped on save).
        self.users: dict[str, dict[str, str]] = {}
        self.loaded = False

    def load(self) -> None:
        """Read the file once; any problem with it means an empty cache."""
        if self.loaded:
            return
        self.loaded = True
        if self.path is None:
            return
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return
        if not isinstance(raw, dict) or raw.get("version") != CACHE_VERSION:
            return
        events = raw.get("events")
        if isinstance(events, dict):
            self.entries = {k: v for k, v in events.items() if isinstance(v, dict)}
        users = raw.get("users")
        if isinstance(users, dict):
            self.users = {
                k: v
                for k, v in users.items()
                if isinstance(v, dict) and isinstance(v.get("email"), str) and v["email"]
            }

    def get(self, uuid: str, key: str) -> tuple[tuple[Participant, ...], int] | None:
        """(participants, invitee total) of this event version, or None: read them again."""
        entry = self.entries.get(uuid)
        if entry is None or entry.get("key") != key:
            return None
        people, total = entry.get("participants"), entry.get("total")
        if not isinstance(people, list) or isinstance(total, bool) or not isinstance(total, int):
            return None
        try:
            return tuple(parse_participant(p, uuid) for p in people), total
        except RecordError:
            return None

    def put(self, uuid: str, key: str, participants: tuple[Participant, ...], total: int) -> None:
        """Remember an event version's participants (only the fields a message needs)."""
        self.entries[uuid] = {
            "key": key,
            "total": total,
            "participants": [{f: getattr(p, f) for f in _CACHED_FIELDS} for p in participants],
        }

    def save(self, keep: set[str] | None = None, keep_users: set[str] | None = None) -> None:
        """Write the cache atomically, owner-only; `keep` drops events no longer listed,
        `keep_users` hosts no listed event names."""
        if self.path is None:
            return
        if keep is not None:
            self.entries = {k: v for k, v in self.entries.items() if k in keep}
        if keep_users is not None:
            self.users = {k: v for k, v in self.users.items() if k in keep_users}
        blob = json.dumps(
            {"version": CACHE_VERSION, "events": self.entries, "users": self.users},
            sort_keys=True,
            separators=(",", ":"),
        )
        write_private(self.path, blob)


class CalendlySource(HttpSource):
    """Reads scheduled events and invitees from the Calendly API v2."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        token_env: str = DEFAULT_TOKEN_ENV,
        therapists: Mapping[str, TherapistConfig] | None = None,
        cache: InviteeCache | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now: datetime | None = None,
    ) -> None:
        super().__init__(
            "calendly",
            base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            client=client,
            sleep=sleep,
            now=now,
        )
        self.token_env = token_env
        self.therapists = dict(therapists or {})
        self.cache = cache or InviteeCache(None)
        self._listed: set[str] = set()  # event uuids of the current listing
        self._hosts: set[str] = set()  # user URIs resolved for the current listing
        self._unreadable: dict[str, str] = {}  # user URI -> why it could not be read

    # --- the one verb ------------------------------------------------------------

    def fetch(self, window: Window) -> Listing:
        """Every event starting in the window, as canonical appointments."""
        self._waited = False
        self.cache.load()
        try:
            listing = self._read(window)
        except SourceError:
            # Keep the invitees read before the failure (no pruning: the listing is
            # partial), so a sync cut short by a rate limit makes progress next time.
            self.cache.save()
            raise
        self.cache.save(keep=self._listed, keep_users=self._hosts)
        return listing

    def _read(self, window: Window) -> Listing:
        self._listed = set()
        self._hosts = set()
        self._unreadable = {}
        params = {
            **self._scope(),
            "min_start_time": _utc(window.start),
            "max_start_time": _utc(window.end),
            "sort": "start_time:asc",
            "count": PAGE_SIZE,
        }
        listing = Listing()
        for index, event in enumerate(self._collection("scheduled_events", params), start=1):
            uuid = _uuid(event.get("uri")) if isinstance(event, dict) else None
            if uuid is None:
                listing.skip(f"calendly event #{index} skipped: it has no uri", None)
                continue
            if uuid in self._listed:
                continue  # the same event on two pages (it changed mid-read): first wins
            self._listed.add(uuid)
            try:
                appointment = self._appointment(uuid, event, window)
            except RecordError as exc:
                listing.skip(f"calendly event skipped: {exc}", uuid)
                continue
            if appointment is not None:
                listing.appointments.append(appointment)
        return listing

    # --- reading -----------------------------------------------------------------

    def _scope(self) -> dict[str, str]:
        """`organization=` for an owner/admin token, else `user=` (the owner's events)."""
        me = self.get_json("users/me")
        resource = me.get("resource") if isinstance(me, dict) else None
        user = resource.get("uri") if isinstance(resource, dict) else None
        org = resource.get("current_organization") if isinstance(resource, dict) else None
        if not isinstance(user, str) or not user:
            raise SourceError(
                "calendly: /users/me did not name the token's user; nothing was changed"
            )
        if not isinstance(org, str) or not org:
            return {"user": user}
        memberships = self._collection(
            "organization_memberships", {"user": user, "organization": org}
        )
        roles = {m.get("role") for m in memberships if isinstance(m, dict)}
        return {"organization": org} if roles & ADMIN_ROLES else {"user": user}

    def _collection(self, path: str, params: Mapping[str, Any]) -> Iterator[Any]:
        """Every item of a paged Calendly collection; any bad page is a SourceError."""
        token: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            page = self.get_json(path, {**params, "page_token": token} if token else params)
            items = page.get("collection") if isinstance(page, dict) else None
            if not isinstance(items, list):
                raise SourceError(
                    f"calendly: /{path} answered without a 'collection' list "
                    "(not a Calendly API response?); nothing was changed"
                )
            yield from items
            token = _next_token(page.get("pagination"))
            if token is None:
                return
            if token in seen:
                raise SourceError(f"calendly: /{path} paging repeats itself; nothing was changed")
            seen.add(token)
        raise SourceError(f"calendly: /{path} has more than {MAX_PAGES} pages; nothing was changed")

    def _participants(self, uuid: str) -> tuple[tuple[Participant, ...], int]:
        """Active invitees (as participants) and how many invitees there are at all."""
        participants: list[Participant] = []
        seen: set[str] = set()
        total = 0
        path = f"scheduled_events/{quote(uuid, safe='')}/invitees"
        for raw in self._collection(path, {"count": PAGE_SIZE}):
            total += 1
            if not isinstance(raw, dict):
                raise RecordError(uuid, "an invitee is not an object")
            # A canceled invitee is not a participant, whether they canceled or moved
            # (`rescheduled: true`: their new booking is its own event and appointment).
            if raw.get("status") != "active":
                continue
            participant = _participant(raw, uuid)
            if participant.id not in seen:
                seen.add(participant.id)
                participants.append(participant)
        return tuple(participants), total

    def _appointment(self, uuid: str, event: dict[str, Any], window: Window) -> Appointment | None:
        """The event as an appointment; None when it starts outside the window."""
        start = parse_instant(event.get("start_time"), "start_time", uuid)
        if start not in window:
            return None  # checked before its invitees are read: no request wasted on it
        end = parse_instant(event["end_time"], "end_time", uuid) if event.get("end_time") else None
        if end is not None and end < start:
            raise RecordError(uuid, "end_time is before start_time")
        state = event.get("status")
        if state not in ("active", "canceled"):
            raise RecordError(uuid, f"status {state!r} is neither active nor canceled")
        therapist = self._therapist(event, uuid)
        fmt, link = _format_and_link(event.get("location"))
        participants: tuple[Participant, ...] = ()
        status = "canceled"
        if state == "active":
            # Only active events need invitees: a canceled event has no active ones, and
            # its appointment's sends are withdrawn whoever was on it.
            participants, total = self._cached_participants(uuid, event)
            # Every invitee canceled (a one-on-one moved or canceled, a group emptied):
            # the session is off even if Calendly left the event active.
            status = "canceled" if total and not participants else "scheduled"
        updated = None
        with contextlib.suppress(RecordError):
            updated = parse_instant(event.get("updated_at"), "updated_at", uuid)
        return Appointment(
            id=uuid,
            status=status,
            start=start,
            end=end,
            format=fmt,
            telehealth_url=link,
            therapist=therapist,
            participants=participants,
            updated_at=updated,
        )

    def _cached_participants(
        self, uuid: str, event: dict[str, Any]
    ) -> tuple[tuple[Participant, ...], int]:
        key = _version_key(event)
        if key is not None:
            cached = self.cache.get(uuid, key)
            if cached is not None:
                return cached
        participants, total = self._participants(uuid)
        if key is not None:
            self.cache.put(uuid, key, participants, total)
        return participants, total

    def _therapist(self, event: dict[str, Any], uuid: str) -> Therapist:
        """The host: `[therapists."EMAIL"]` names them, else Calendly's user_name."""
        hosts = event.get("event_memberships")
        # A co-hosted event has several memberships; the first is the event's owner.
        host = hosts[0] if isinstance(hosts, list) and hosts else None
        email = host.get("user_email") if isinstance(host, dict) else None
        user_name = host.get("user_name") if isinstance(host, dict) else None
        if (not isinstance(email, str) or not email.strip()) and isinstance(host, dict):
            # Some responses name the host by user URI only: look the user up (cached)
            # rather than drop the session.
            email, user_name = self._host_by_uri(host.get("user"), user_name, uuid)
        if not isinstance(email, str) or not email.strip():
            raise RecordError(
                uuid,
                "no host (event_memberships[].user_email or .user) to name the therapist",
            )
        email = email.strip()
        configured = self.therapists.get(email) or next(
            (t for k, t in self.therapists.items() if k.casefold() == email.casefold()), None
        )
        # The id must equal the config key, so the therapist's templates and fixed link
        # apply however the key's letters are cased.
        tid = configured.id if configured else email.lower()
        name = (configured.name if configured and configured.name else None) or (
            user_name.strip() if isinstance(user_name, str) and user_name.strip() else tid
        )
        return Therapist(
            id=tid, name=name, display_name=configured.display_name if configured else None
        )

    def _host_by_uri(self, uri: Any, user_name: Any, event: str) -> tuple[str | None, Any]:
        """(email, name) of a host named by user URI: from the cache, else one
        `GET /users/{uuid}` (on our base URL, so an override holds). A user that cannot
        be read (gone from the organization, say) skips that host's events, not the
        listing; it is asked once per sync."""
        user = _uuid(uri)
        if not isinstance(uri, str) or user is None:
            return None, user_name
        self._hosts.add(uri)
        if uri in self._unreadable:
            raise RecordError(event, self._unreadable[uri])
        known = self.cache.users.get(uri)
        if known is None:
            try:
                body = self.get_json(f"users/{quote(user, safe='')}")
            except SourceError as exc:
                reason = exc.message.removesuffix("; nothing was changed")
                self._unreadable[uri] = f"its host (user {user!r}) could not be read: {reason}"
                raise RecordError(event, self._unreadable[uri]) from None
            resource = body.get("resource") if isinstance(body, dict) else None
            if not isinstance(resource, dict):
                return None, user_name
            email, name = resource.get("email"), resource.get("name")
            if not isinstance(email, str) or not email.strip():
                return None, user_name
            name = name if isinstance(name, str) else ""
            known = {"email": email.strip(), "name": name.strip()}
            self.cache.users[uri] = known
        return known["email"], user_name or known.get("name") or None

    # --- error wording and the one rate-limit wait ---------------------------------

    def _http_error(self, response: httpx.Response) -> str:
        if response.status_code in (401, 403):
            return (
                f"calendly: HTTP {response.status_code} from {response.request.url.path}: "
                f"the token in {self.token_env} was refused (expired, revoked or without "
                "access); create a new personal access token in Calendly (Integrations > "
                f"API & Webhooks) and set {self.token_env}; nothing was changed"
            )
        if response.status_code == 429:
            delay = rate_limit_delay(response.headers, self.now)
            when = f"in {int(delay) + 1} s" if delay is not None else "in a minute"
            return f"calendly: rate limited (HTTP 429); retry {when}; nothing was changed"
        return super()._http_error(response)


# --- pure helpers -------------------------------------------------------------------


def _utc(moment: datetime) -> str:
    """Calendly's own timestamp shape, e.g. 2026-11-24T20:00:00.000000Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _uuid(uri: Any) -> str | None:
    """The last path segment of a resource URI (`…/scheduled_events/UUID`)."""
    if not isinstance(uri, str):
        return None
    tail = urlparse(uri.strip()).path.rstrip("/").rsplit("/", 1)[-1]
    return tail or None


def _next_token(pagination: Any) -> str | None:
    """The next page's token. It is re-sent to our own base URL rather than following
    `next_page` as is, so a `base_url` override (a proxy, a test server) holds for
    every page."""
    if not isinstance(pagination, dict):
        return None
    token = pagination.get("next_page_token")
    if isinstance(token, str) and token:
        return token
    nxt = pagination.get("next_page")
    if isinstance(nxt, str) and nxt:
        values = parse_qs(urlparse(nxt).query).get("page_token")
        if values and values[0]:
            return values[0]
        raise SourceError(
            "calendly: a page's next_page link carries no page_token; nothing was changed"
        )
    return None


def _version_key(event: dict[str, Any]) -> str | None:
    """What must be unchanged for cached invitees to hold: `updated_at` and the invitee
    counts (a group booking or cancellation changes them even if nothing else moved)."""
    updated = event.get("updated_at")
    if not isinstance(updated, str) or not updated:
        return None
    counter = event.get("invitees_counter")
    counts = (counter.get("total"), counter.get("active")) if isinstance(counter, dict) else ()
    return f"{updated}|{'/'.join(str(c) for c in counts)}"


def _format_and_link(location: Any) -> tuple[str, str | None]:
    """(format, telehealth_url) from an event's `location`."""
    if not isinstance(location, dict):
        # No location at all: assume telehealth without a link, so a human is asked
        # (or the therapist's fixed `link` is used) rather than silently sending nothing.
        return "telehealth", None
    kind = location.get("type")
    join = _text(location.get("join_url"))
    if kind in VIDEO_TYPES:
        return "telehealth", join
    if kind in NO_LINK_TYPES:
        return "in_person", None
    if kind in TEXT_TYPES:
        found = _URL.search(join or _text(location.get("location")) or "")
        if found:
            # "Join at https://doxy.me/drchen" is a video session: sending nothing for it
            # would be the costly mistake. http:// is passed on so the core's link
            # policy refuses it where a human sees it.
            return "telehealth", found.group(0).rstrip(".,;)")
        return "in_person", None
    # A location type this module does not know yet: a join_url makes it a video
    # meeting; without one, ask a human rather than guess.
    return "telehealth", join


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _participant(raw: dict[str, Any], event_uuid: str) -> Participant:
    """One active invitee as a canonical participant (id = email, lowercased)."""
    email = _text(raw.get("email"))
    pid = email.lower() if email else _uuid(raw.get("uri"))
    if not pid:
        raise RecordError(event_uuid, "an invitee has neither an email nor a uri")
    name = (
        _text(raw.get("name"))
        or " ".join(x for x in (_text(raw.get("first_name")), _text(raw.get("last_name"))) if x)
        or (email or "")
    )
    return Participant(
        id=pid,
        name=name,
        first_name=_text(raw.get("first_name")),
        email=email,
        mobile=_text(raw.get("text_reminder_number")),
        timezone=_text(raw.get("timezone")),
    )


# --- configuration ------------------------------------------------------------------


def build(
    config: Config,
    env: Mapping[str, str],
    now: datetime,
    *,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> CalendlySource:
    """The Calendly source for this config (`[source] kind = "calendly"`).

    `client` and `sleep` are test seams: respx-backed clients and a sleep recorder.
    """
    # `[source]` was checked by the config reader (sources/settings.py), every problem
    # with its line, before this runs.
    settings = config.source.settings
    base_url: str = settings.get("base_url", DEFAULT_BASE_URL)
    token_env: str = settings.get("token_env", DEFAULT_TOKEN_ENV)
    timeout: float = settings.get("timeout", DEFAULT_TIMEOUT)
    cache_setting: str | None = settings.get("cache_path")
    cache_path: Path | None
    if cache_setting is None:
        cache_path = config.store_path.with_name(config.store_path.name + CACHE_SUFFIX)
    elif not cache_setting.strip():
        cache_path = None  # "" turns the cache off
    else:
        cache_path = (config.base_dir / Path(cache_setting).expanduser()).resolve()
    token_env = token_env.strip()
    token = secret(env, {"token_env": token_env}, "token_env", DEFAULT_TOKEN_ENV)
    return CalendlySource(
        token,
        base_url=base_url,
        token_env=token_env,
        therapists=config.therapists,
        cache=InviteeCache(cache_path),
        timeout=float(timeout),
        client=client,
        sleep=sleep,
        now=now,
    )
