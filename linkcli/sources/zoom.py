"""The `zoom` source: upcoming Zoom meetings (REST v2, server-to-server OAuth).

One sync reads, per configured user, `GET /users/{user}/meetings?type=upcoming` page by
page (`next_page_token`), then `GET /meetings/{id}` (the list carries neither the
registration settings nor the host's email) only for a meeting inside the window that is
new or whose list entry changed since the last sync, or last read over a day ago
(MeetingCache, owner-only beside the token cache), and
`GET /meetings/{id}/registrants?status=approved` on every sync for meetings with
registration on. So a no-change sync costs 1 list page per 300 meetings,
plus 1 per registration meeting (more pages past 300 registrants), plus the OAuth call
when the cached token has run out. With `registrants = false` only the list pages are
read (clients then come from the contacts directory by topic, and therapists are named
by [therapists] or their host_id).

A list whose pages announce more meetings (`total_records`) or pages (`page_count`)
than were read, with no `next_page_token` to reach them, is an incomplete listing: the
sync fails (exit 3) and nothing changes, so no meeting vanishes because of it.

Mapping (documented choices):
- Appointment id is the meeting id. A recurring meeting with a fixed time (type 8)
  shares one id across occurrences, so each listed occurrence becomes
  `"{id}/{start as 2026-11-24T20:00:00Z}"`; moving a single occurrence therefore looks
  like a cancellation plus a new session, not a reschedule.
- Link: the meeting's `join_url`, never `start_url` (the host's credential: anyone
  holding it starts the meeting as the therapist). Registrants also carry a personal
  `join_url`, but the canonical appointment has one link for everyone, so the
  meeting's link is the one sent (on a registration meeting Zoom may show a client
  the registration form first; see the README).
- Participants: the approved registrants (id = email, lowercased) or, for a meeting
  without any, one participant with id "" named after the topic, for the contacts
  directory to resolve by name.
- Zoom's upcoming list never contains deleted meetings: a deleted meeting vanishes,
  and the core counts that as a cancellation under its mass-vanish guard.

The access token lives one hour; it is kept in a small owner-only cache file so that
cron runs every few minutes do not each ask for a new one. A 401 on the cached token
gets one fresh token before the read counts as failed.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from linkcli.core.model import (
    Appointment,
    Participant,
    RecordError,
    Therapist,
    parse_instant,
)
from linkcli.errors import SourceError
from linkcli.private_file import write_private
from linkcli.sources.base import Listing, Window
from linkcli.sources.http import HttpSource, secret

if TYPE_CHECKING:
    from linkcli.config import Config

DEFAULT_BASE_URL = "https://api.zoom.us/v2"
DEFAULT_OAUTH_URL = "https://zoom.us/oauth/token"
PAGE_SIZE = 300  # Zoom's maximum: one request lists up to 300 meetings or registrants
MAX_PAGES = 1000  # a feed that pages forever is broken, not busy
# A token this close to its expiry is replaced before use: one that dies mid-sync would
# cost a 401 and a retry on some page, and Zoom's clock is not ours.
EXPIRY_MARGIN = timedelta(minutes=2)
# How long a meeting's cached details hold while its list entry is unchanged: a
# registration switched on later is noticed within this time.
DETAIL_MAX_AGE = timedelta(hours=24)
RECURRING_FIXED = 8  # meeting type: recurring with a fixed time (occurrences share an id)
RECURRING_NO_TIME = 3  # recurring with no fixed time: no start, so no session to remind
NO_REGISTRATION = 2  # settings.approval_type: "no registration required"

OAUTH_REFUSED = (
    "zoom: the server-to-server OAuth credentials were refused (check ZOOM_ACCOUNT_ID/"
    "ZOOM_CLIENT_ID/ZOOM_CLIENT_SECRET)"
)


@dataclass(frozen=True)
class Credentials:
    """The server-to-server OAuth app's credentials (from the environment only)."""

    account_id: str
    client_id: str
    client_secret: str

    def fingerprint(self, oauth_url: str) -> str:
        """Ties a cached token to the app and account it was issued for, without the secret.

        Changing the app (or the OAuth endpoint) must not reuse a token minted for another.
        """
        blob = f"{oauth_url}\n{self.account_id}\n{self.client_id}".encode()
        return hashlib.sha256(blob).hexdigest()[:16]


class TokenCache:
    """One access token on disk, readable by its owner only, trusted until it expires.

    Anything unreadable or odd in the file is ignored (a fresh token is fetched and the
    file rewritten); a file that cannot be written costs one OAuth call next run, never
    the sync.
    """

    def __init__(self, path: Path, fingerprint: str) -> None:
        self.path = path
        self.fingerprint = fingerprint

    def load(self, now: datetime) -> str | None:
        """The cached token when it belongs to these credentials and is still good at `now`."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            token = data["access_token"]
            expires = datetime.fromisoformat(data["expires_at"])
            if (
                data.get("key") != self.fingerprint
                or not isinstance(token, str)
                or not token
                or expires.tzinfo is None
            ):
                return None
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return token if now < expires - EXPIRY_MARGIN else None

    def save(self, token: str, expires_at: datetime) -> None:
        """Write atomically with mode 0600: the token lets anyone read the practice's schedule."""
        data = {
            "key": self.fingerprint,
            "access_token": token,
            "expires_at": expires_at.astimezone(UTC).isoformat(),
        }
        write_private(self.path, json.dumps(data))


class MeetingCache:
    """Each meeting's details (host email, whether registration is on) as last read,
    valid while the meeting's entry in the list is unchanged.

    Zoom rate-limits per account and the list already carries everything that can move
    a session (start, duration, topic, link, host), so `GET /meetings/{id}` is needed
    only for a meeting that is new or whose entry changed. Registration can be switched
    on without the entry changing, so an entry is also read again once it is older than
    DETAIL_MAX_AGE. Registrants are not cached: they change without the meeting changing.
    Kept owner-only beside the token cache; a missing or odd file reads as empty and a
    failed write costs requests, never a sync.
    """

    VERSION = 1

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, dict[str, Any]] = {}
        if path is None:
            return
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return
        if isinstance(raw, dict) and raw.get("version") == self.VERSION:
            meetings = raw.get("meetings")
            if isinstance(meetings, dict):
                self.entries = {k: v for k, v in meetings.items() if isinstance(v, dict)}

    def get(self, meeting_id: str, key: str, now: datetime) -> dict[str, Any] | None:
        """The cached details of this version of the meeting, or None: read them again."""
        entry = self.entries.get(meeting_id)
        if entry is None or entry.get("key") != key or not isinstance(entry.get("detail"), dict):
            return None
        try:
            read_at = datetime.fromisoformat(str(entry.get("read_at")))
        except ValueError:
            return None
        if read_at.tzinfo is None or not read_at <= now < read_at + DETAIL_MAX_AGE:
            return None
        return dict(entry["detail"])

    def put(self, meeting_id: str, key: str, detail: dict[str, Any], now: datetime) -> None:
        """Remember the details linkcli uses (never start_url or other credentials)."""
        self.entries[meeting_id] = {"key": key, "detail": detail, "read_at": now.isoformat()}

    def save(self, keep: set[str]) -> None:
        """Write owner-only, keeping only the meetings of this listing."""
        if self.path is None:
            return
        self.entries = {k: v for k, v in self.entries.items() if k in keep}
        blob = json.dumps({"version": self.VERSION, "meetings": self.entries}, sort_keys=True)
        write_private(self.path, blob)


def _entry_key(raw: dict[str, Any]) -> str:
    """A fingerprint of a meeting's list entry: it changes whenever the meeting does."""
    blob = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _meeting_cache_path(token_cache: Path) -> Path:
    name = token_cache.name
    if "zoom-token" in name:
        return token_cache.with_name(name.replace("zoom-token", "zoom-meetings"))
    return token_cache.with_name(f"{name}.meetings.json")


class ZoomSource(HttpSource):
    """Reads upcoming Zoom meetings of the configured users as canonical appointments."""

    def __init__(
        self,
        credentials: Credentials,
        cache: TokenCache,
        now: datetime,
        base_url: str = DEFAULT_BASE_URL,
        oauth_url: str = DEFAULT_OAUTH_URL,
        users: tuple[str, ...] = ("me",),
        registrants: bool = True,
        therapist_names: Mapping[str, tuple[str | None, str | None]] | None = None,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        meetings: MeetingCache | None = None,
    ) -> None:
        super().__init__("zoom", base_url, client=client, sleep=sleep, now=now)
        # Beside the token cache (so beside the store by default), unless given.
        self.meetings = meetings or MeetingCache(_meeting_cache_path(cache.path))
        self.credentials = credentials
        self.cache = cache
        self.oauth_url = oauth_url
        self.users = users
        self.registrants = registrants
        self.therapist_names = dict(therapist_names or {})
        self.at = now  # the run's instant: token expiry is judged by it, never the wall clock
        self._token: str | None = None

    # --- OAuth -----------------------------------------------------------------------

    def _auth(self) -> dict[str, str]:
        """Bearer headers from the cached token, fetching one only when none is good."""
        if self._token is None:
            self._token = self.cache.load(self.at) or self._fresh_token()
        return {"Authorization": f"Bearer {self._token}"}

    def _reauth(self) -> dict[str, str]:
        """A 401 on the cached token: it was revoked or Zoom's clock disagrees. Get one anew."""
        self._token = self._fresh_token()
        return {"Authorization": f"Bearer {self._token}"}

    def _fresh_token(self) -> str:
        """POST the account_credentials grant; cache the token until it expires."""
        creds = self.credentials
        self.requests += 1
        try:
            response = self.client.post(
                self.oauth_url,
                data={"grant_type": "account_credentials", "account_id": creds.account_id},
                auth=(creds.client_id, creds.client_secret),
                headers={"User-Agent": self.headers["User-Agent"], "Accept": "application/json"},
            )
        except httpx.TimeoutException:
            raise SourceError(
                "zoom: timed out asking for an OAuth token; nothing was changed "
                "(will retry next sync)"
            ) from None
        except httpx.HTTPError as exc:
            raise SourceError(
                f"zoom: cannot reach {httpx.URL(self.oauth_url).host} for an "
                f"OAuth token ({type(exc).__name__}); nothing was changed"
            ) from None
        if response.status_code in (400, 401, 403):
            # Zoom answers a wrong account id with 400 and wrong client credentials with 401.
            raise SourceError(OAUTH_REFUSED)
        if response.status_code >= 400:
            raise SourceError(
                f"zoom: HTTP {response.status_code} from the OAuth endpoint; nothing was changed"
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise SourceError(
                "zoom: the OAuth endpoint answered without an access_token; nothing was changed"
            )
        lifetime = body.get("expires_in")
        if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
            lifetime = 3600  # Zoom documents one hour for server-to-server tokens
        self.cache.save(token, self.at + timedelta(seconds=float(lifetime)))
        return token

    def _read(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """Every Zoom read carries the bearer token and may refresh it once on a 401."""
        return self.get_json(path, params, headers=self._auth(), retry_auth=self._reauth)

    def _http_error(self, response: httpx.Response) -> str:
        # The shared wording points at a token in the environment; Zoom's is minted from
        # the app's credentials, so a refusal here means the app itself.
        where = response.request.url.path
        if response.status_code == 401:  # only ever after one fresh token (get_json)
            return (
                f"zoom: HTTP 401 from {where} even with a fresh OAuth token; check that "
                "the Zoom app is activated; nothing was changed"
            )
        if response.status_code == 403:
            return (
                f"zoom: HTTP 403 from {where}: the Zoom app may not read this; add the "
                "meeting read scopes to the app; nothing was changed"
            )
        return super()._http_error(response)

    # --- listing ---------------------------------------------------------------------

    def fetch(self, window: Window) -> Listing:
        """Every meeting of the configured users starting inside the window.

        Any failed or malformed page fails the whole read (SourceError); one meeting that
        cannot be understood is reported and skipped.
        """
        listing = Listing()
        seen: set[str] = set()
        details: dict[str, tuple[dict[str, Any], tuple[Participant, ...]]] = {}
        for user in self.users:
            for raw in self._paged(
                f"/users/{_segment(user)}/meetings", "meetings", {"type": "upcoming"}
            ):
                try:
                    appointment = self._meeting(raw, window, details)
                except RecordError as exc:
                    listing.skip(f"zoom meeting skipped: {exc}", exc.record_id)
                    continue
                if appointment is None or appointment.id in seen:
                    continue  # outside the window, or listed for two configured users
                seen.add(appointment.id)
                listing.appointments.append(appointment)
        if self.registrants:  # otherwise no meeting's details are ever read
            self.meetings.save(keep=set(details))
        return listing

    def _paged(self, path: str, key: str, params: Mapping[str, Any]) -> Iterator[Any]:
        """The items under `key` of every page, following `next_page_token`."""
        token: str | None = ""
        tokens: set[str] = set()
        read = 0
        announced = 0
        for number in range(1, MAX_PAGES + 1):
            query = {**params, "page_size": PAGE_SIZE}
            if token:
                query["next_page_token"] = token
            page = self._read(path, query)
            # Strict on purpose: a page without its list (an error body sent with 200, a
            # proxy's page) read as "no meetings" would look like a mass cancellation.
            items = page.get(key) if isinstance(page, dict) else None
            next_token = page.get("next_page_token") if isinstance(page, dict) else None
            if not isinstance(items, list) or not isinstance(next_token, str | None):
                raise SourceError(
                    f"zoom: page {number} of {path} is not a list of {key}; nothing was changed"
                )
            token = next_token or ""
            yield from items
            read += len(items)
            announced = max(announced, _count(page.get("total_records")))
            if not token:
                pages = _count(page.get("page_count"))
                if read < announced or number < pages:
                    # More records announced than read, and no token to reach them: the
                    # missing meetings must not vanish as cancellations (DESIGN.md).
                    said = f"{announced} {key}" if read < announced else f"{pages} pages"
                    raise SourceError(
                        f"zoom: {path} announced {said} but gave no next_page_token after "
                        f"{read} {key} on {number} page(s); the listing is incomplete; "
                        "nothing was changed (will retry next sync)"
                    )
                return
            if token in tokens:
                raise SourceError(f"zoom: {path} repeats a page token; nothing was changed")
            tokens.add(token)
        raise SourceError(f"zoom: {path} has more than {MAX_PAGES} pages; nothing was changed")

    def _meeting(
        self,
        raw: Any,
        window: Window,
        details: dict[str, tuple[dict[str, Any], tuple[Participant, ...]]],
    ) -> Appointment | None:
        """One list entry -> an appointment, None when outside the window or undated."""
        if not isinstance(raw, dict):
            raise RecordError(None, "a meeting entry is not an object")
        meeting_id = _text(raw.get("id"))
        if not meeting_id:
            raise RecordError(None, "a meeting has no id")
        kind = raw.get("type")
        if raw.get("start_time") is None and kind == RECURRING_NO_TIME:
            return None
        recurring = kind == RECURRING_FIXED
        # Without a readable start a recurring occurrence has no id of its own: no id to
        # keep, so the record is skipped and nothing vanishes this sync (Listing.skip).
        start = parse_instant(
            raw.get("start_time"), "start_time", None if recurring else meeting_id
        )
        aid = f"{meeting_id}/{_zulu(start)}" if recurring else meeting_id
        if start not in window:
            return None
        duration = raw.get("duration")
        if duration is not None and (
            isinstance(duration, bool) or not isinstance(duration, int) or duration < 0
        ):
            raise RecordError(aid, f"duration {duration!r} is not a number of minutes")
        host_id = _text(raw.get("host_id"))
        if not host_id:
            raise RecordError(aid, "the meeting has no host_id")
        if meeting_id not in details:
            details[meeting_id] = self._detail(meeting_id, aid, _entry_key(raw))
        detail, registrants = details[meeting_id]
        topic = _text(raw.get("topic")) or ""
        return Appointment(
            id=aid,
            status="scheduled",  # the upcoming list holds live meetings only
            start=start,
            end=start + timedelta(minutes=duration) if duration is not None else None,
            therapist=self._therapist(host_id, _text(detail.get("host_email"))),
            participants=registrants or (Participant(id="", name=topic),),
            format="telehealth",
            telehealth_url=_text(raw.get("join_url")),  # never start_url: see module doc
        )

    def _detail(
        self, meeting_id: str, aid: str, key: str
    ) -> tuple[dict[str, Any], tuple[Participant, ...]]:
        """The meeting's own record (registration settings, host email) and its registrants.

        The record is read only when the meeting is new or its list entry changed
        (MeetingCache); registrants, when registration is on, on every sync.
        """
        if not self.registrants:
            return {}, ()
        detail = self.meetings.get(meeting_id, key, self.at)
        if detail is None:
            full = self._read(f"/meetings/{meeting_id}")
            if not isinstance(full, dict):
                raise SourceError(
                    f"zoom: /meetings/{meeting_id} is not a meeting; nothing was changed"
                )
            settings = full.get("settings")
            approval = (
                settings.get("approval_type", NO_REGISTRATION)
                if isinstance(settings, dict)
                else NO_REGISTRATION
            )
            detail = {
                "host_email": _text(full.get("host_email")),
                "registration": approval != NO_REGISTRATION
                or bool(_text(full.get("registration_url"))),
            }
            self.meetings.put(meeting_id, key, detail, self.at)
        if not detail.get("registration"):
            return detail, ()
        people: dict[str, Participant] = {}
        for raw in self._paged(
            f"/meetings/{meeting_id}/registrants", "registrants", {"status": "approved"}
        ):
            person = _registrant(raw, aid)
            people.setdefault(person.id, person)  # registered twice: one sequence, not two
        return detail, tuple(people.values())

    def _therapist(self, host_id: str, host_email: str | None) -> Therapist:
        name, display = self.therapist_names.get(host_id, (None, None))
        return Therapist(id=host_id, name=name or host_email or host_id, display_name=display)


def _registrant(raw: Any, aid: str) -> Participant:
    """An approved registrant as a participant; the whole meeting is skipped if one is odd.

    Dropping just the odd registrant would read as "participant removed" and cancel
    their messages; skipping the meeting keeps the last good snapshot of it instead.
    """
    if not isinstance(raw, dict):
        raise RecordError(aid, "a registrant is not an object")
    email = _text(raw.get("email"))
    if not email or "@" not in email:
        raise RecordError(aid, "a registrant has no email address")
    first = _text(raw.get("first_name"))
    name = " ".join(p for p in (first, _text(raw.get("last_name"))) if p) or email
    return Participant(
        id=email.lower(), name=name, first_name=first, email=email, mobile=_text(raw.get("phone"))
    )


def _count(value: Any) -> int:
    """A page's total_records or page_count; anything odd counts as 0 (no claim made)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _text(value: Any) -> str | None:
    """Zoom sends meeting ids as numbers; both become text, blanks become None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | str):
        return str(value).strip() or None
    return None


def _zulu(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _segment(user: str) -> str:
    """A user id or email as one URL path segment ("me", an id, or jo@example.org)."""
    return quote(user, safe="@")


def build(
    config: Config,
    env: Mapping[str, str],
    now: datetime,
    *,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ZoomSource:
    """The zoom source for this config; secrets come from the environment only."""
    # `[source]` was checked by the config reader (sources/settings.py), every problem
    # with its line, before this runs.
    settings = config.source.settings
    users: list[str] = settings.get("users", ["me"])
    registrants: bool = settings.get("registrants", True)
    cache_setting: str | None = settings.get("token_cache")
    credentials = Credentials(
        account_id=secret(env, settings, "account_id_env", "ZOOM_ACCOUNT_ID"),
        client_id=secret(env, settings, "client_id_env", "ZOOM_CLIENT_ID"),
        client_secret=secret(env, settings, "client_secret_env", "ZOOM_CLIENT_SECRET"),
    )
    oauth_url = settings.get("oauth_url") or DEFAULT_OAUTH_URL
    if isinstance(cache_setting, str):
        cache_path = (config.base_dir / Path(cache_setting).expanduser()).resolve()
    else:  # beside the database: same owner, same folder a cron user can write
        cache_path = Path(f"{config.store_path}.zoom-token.json")
    names = {tid: (t.name, t.display_name) for tid, t in config.therapists.items()}
    return ZoomSource(
        credentials=credentials,
        cache=TokenCache(cache_path, credentials.fingerprint(oauth_url)),
        now=now,
        base_url=settings.get("base_url") or DEFAULT_BASE_URL,
        oauth_url=oauth_url,
        users=tuple(u.strip() for u in users),
        registrants=registrants is not False,
        therapist_names=names,
        client=client,
        sleep=sleep,
    )
