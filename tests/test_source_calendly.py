"""The calendly source against Calendly's API v2 answered by respx (never the network).

Every test builds the source the way `linkcli sync` does — `build(config, env, now)`
from a real config.toml read by `load_config` — and the fake API below serves pages
shaped like Calendly's (fixtures in tests/fixtures/calendly/). People are synthetic.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import respx
from typer.testing import CliRunner

from linkcli.cli import app
from linkcli.config import Config, load_config
from linkcli.errors import ConfigError, SourceError
from linkcli.sources import calendly
from linkcli.sources.base import Listing, Window
from tests.conftest import OUTBOX_CHANNELS
from tests.conftest import write_config as conftest_write_config

FIXTURES = Path(__file__).parent / "fixtures" / "calendly"
BASE = "https://api.calendly.com"
HOST = "api.calendly.com"
TOKEN = "calendly-test-token-not-real"
ENV = {"CALENDLY_TOKEN": TOKEN}
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
WINDOW = Window(NOW - timedelta(days=1), NOW + timedelta(days=30))
USER = "https://api.calendly.com/users/USR-MAYA-0001"
ORG = "https://api.calendly.com/organizations/ORG-RIVERSIDE-01"
ZOOM = "https://us02web.zoom.us/j/85512345678?pwd=AbCdEf123"
ZOOM_NEW = "https://us02web.zoom.us/j/85599990000?pwd=NeWlInK42"


@cache
def shared_client() -> httpx.Client:
    """One client for every source built here: each new client builds its own TLS
    context (tens of ms), which would dominate these tests. respx intercepts it all the
    same; the CLI tests keep the client the source builds itself."""
    return httpx.Client(timeout=5.0)


@cache
def _fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text()


def fixture(name: str) -> dict[str, Any]:
    """A fresh copy of a recorded-shape Calendly resource (safe to modify)."""
    return json.loads(_fixture_text(name))


def event(
    uuid: str,
    start: str = "2026-11-24T20:00:00.000000Z",
    minutes: int = 50,
    status: str = "active",
    location: dict[str, Any] | None | str = "zoom",
    updated_at: str = "2026-11-10T15:00:00.000000Z",
    invitees: tuple[int, int] = (1, 1),
    **extra: Any,
) -> dict[str, Any]:
    """A scheduled event like Calendly's, from the fixture (location "zoom" = its Zoom)."""
    record = fixture("event.json")
    begin = datetime.fromisoformat(start.replace("Z", "+00:00"))
    record.update(
        {
            "uri": f"{BASE}/scheduled_events/{uuid}",
            "status": status,
            "start_time": start,
            "end_time": (begin + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "updated_at": updated_at,
            "invitees_counter": {"total": invitees[0], "active": invitees[1], "limit": 1},
        }
    )
    if location != "zoom":
        record["location"] = location
    if status == "canceled":
        record["cancellation"] = {
            "canceled_by": "Alex Rivera",
            "reason": None,
            "canceler_type": "invitee",
            "created_at": updated_at,
        }
    record.update(extra)
    return record


def invitee(
    event_uuid: str,
    n: int = 1,
    email: str = "Alex.Rivera@example.org",
    name: str = "Alex Rivera",
    mobile: str | None = "+1 617-555-0101",
    status: str = "active",
    **extra: Any,
) -> dict[str, Any]:
    """An invitee like Calendly's, from the fixture."""
    record = fixture("invitee.json")
    record.update(
        {
            "uri": f"{BASE}/scheduled_events/{event_uuid}/invitees/INV-{event_uuid}-{n}",
            "event": f"{BASE}/scheduled_events/{event_uuid}",
            "email": email,
            "name": name,
            "first_name": name.split()[0],
            "last_name": name.split()[-1],
            "text_reminder_number": mobile,
            "status": status,
        }
    )
    record.update(extra)
    return record


@dataclass
class FakeCalendly:
    """Calendly's API v2 as respx routes: users/me, memberships, events, invitees.

    `events` and `invitees` are what the account holds; `page_size` forces paging;
    `inject(route, call, response)` makes the n-th call (1-based) of a route answer
    `response` instead (a 401, a 429, a 500, a malformed page).
    """

    router: respx.MockRouter
    role: str = "owner"
    events: list[dict[str, Any]] = field(default_factory=list)
    invitees: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    page_size: int = 100
    invitee_page_size: int = 100
    token_field: bool = True  # False: only `next_page` carries the page token
    event_params: list[dict[str, str]] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    injected: dict[tuple[str, int], httpx.Response] = field(default_factory=dict)

    def __post_init__(self) -> None:
        r = self.router
        r.get(host=HOST, path="/users/me", name="me").mock(side_effect=self._me)
        r.get(host=HOST, path="/organization_memberships", name="memberships").mock(
            side_effect=self._memberships
        )
        r.get(host=HOST, path="/scheduled_events", name="events").mock(side_effect=self._events)
        r.get(
            host=HOST, path__regex=r"^/scheduled_events/(?P<uuid>[^/]+)/invitees$", name="invitees"
        ).mock(side_effect=self._invitees)

    def add(self, ev: dict[str, Any], *people: dict[str, Any]) -> None:
        self.events.append(ev)
        self.invitees[calendly._uuid(ev["uri"]) or ""] = list(people)

    def inject(self, route: str, call: int, response: httpx.Response) -> None:
        self.injected[(route, call)] = response

    def count(self, route: str) -> int:
        return self.router.routes[route].call_count

    @property
    def total(self) -> int:
        return sum(route.call_count for route in self.router.routes)

    def _hit(self, route: str, request: httpx.Request) -> httpx.Response | None:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        self.calls[route] = self.calls.get(route, 0) + 1
        return self.injected.get((route, self.calls[route]))

    def _page(self, request: httpx.Request, items: list[Any], size: int) -> httpx.Response:
        params = dict(request.url.params)
        offset = int(params.pop("page_token", "0"))
        nxt = offset + size if offset + size < len(items) else None
        next_page = None
        if nxt is not None:
            next_page = f"{BASE}{request.url.path}?{urlencode({**params, 'page_token': nxt})}"
        return httpx.Response(
            200,
            json={
                "collection": items[offset : offset + size],
                "pagination": {
                    "count": len(items[offset : offset + size]),
                    "next_page": next_page,
                    "previous_page": None,
                    "next_page_token": str(nxt) if nxt is not None and self.token_field else None,
                    "previous_page_token": None,
                },
            },
        )

    def _me(self, request: httpx.Request) -> httpx.Response:
        return self._hit("me", request) or httpx.Response(200, json=fixture("users_me.json"))

    def _memberships(self, request: httpx.Request) -> httpx.Response:
        assert dict(request.url.params) == {"user": USER, "organization": ORG}
        body = fixture("organization_memberships.json")
        body["collection"][0]["role"] = self.role
        return self._hit("memberships", request) or httpx.Response(200, json=body)

    def _events(self, request: httpx.Request) -> httpx.Response:
        self.event_params.append(dict(request.url.params))
        return self._hit("events", request) or self._page(request, self.events, self.page_size)

    def _invitees(self, request: httpx.Request, uuid: str) -> httpx.Response:
        return self._hit("invitees", request) or self._page(
            request, self.invitees.get(uuid, []), self.invitee_page_size
        )


@pytest.fixture
def api() -> Iterator[FakeCalendly]:
    with respx.mock(assert_all_called=False) as router:
        yield FakeCalendly(router)


def write_config(root: Path, source: str = "", extra: str = "") -> Path:
    """A whole practice config with a calendly source; outboxes stay in `root`."""
    return conftest_write_config(
        root,
        f"""\
        [practice]
        name = "Riverside Therapy"
        timezone = "America/New_York"
        country = "US"

        [store]
        path = "linkcli.db"

        [source]
        kind = "calendly"
        base_url = "{BASE}"
        """,
        source,
        OUTBOX_CHANNELS,
        extra,
    )


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return load_config(write_config(tmp_path), ENV)


@dataclass
class Run:
    listing: Listing
    source: calendly.CalendlySource
    sleeps: list[float]


def sync(config: Config, env: dict[str, str] | None = None) -> Run:
    """One listing, as one cron run reads it (a fresh source each time)."""
    sleeps: list[float] = []
    source = calendly.build(config, env or ENV, NOW, client=shared_client(), sleep=sleeps.append)
    return Run(source.fetch(WINDOW), source, sleeps)


def by_id(listing: Listing) -> dict[str, Any]:
    return {a.id: a for a in listing.appointments}


# --- listing and mapping ------------------------------------------------------------


def test_events_are_read_across_three_pages_in_one_request_per_page(
    api: FakeCalendly, config: Config
) -> None:
    api.page_size = 2
    api.token_field = False  # follow `next_page` alone: its page_token is re-sent to base_url
    for n in range(5):
        uuid = f"EVT-{n}"
        api.add(
            event(uuid, start=f"2026-11-2{4 + n}T20:00:00.000000Z"),
            invitee(uuid, email=f"client{n}@example.org", mobile=f"+1 617 555 01{n:02d}"),
        )

    run = sync(config)

    assert [a.id for a in run.listing.appointments] == [f"EVT-{n}" for n in range(5)]
    assert run.listing.problems == [] and run.listing.complete
    assert api.count("events") == 3
    first = api.event_params[0]
    # Owner token: the organization's events; no status filter, so canceled come too.
    assert first == {
        "organization": ORG,
        "min_start_time": "2026-11-22T12:00:00.000000Z",
        "max_start_time": "2026-12-23T12:00:00.000000Z",
        "sort": "start_time:asc",
        "count": "100",
    }
    assert [p.get("page_token") for p in api.event_params] == [None, "2", "4"]
    assert all(p["organization"] == ORG for p in api.event_params)


@pytest.mark.parametrize(
    ("role", "scope"), [("owner", "organization"), ("admin", "organization"), ("user", "user")]
)
def test_owner_or_admin_reads_the_organization_else_their_own_events(
    api: FakeCalendly, config: Config, role: str, scope: str
) -> None:
    api.role = role
    sync(config)
    params = api.event_params[0]
    assert scope in params and ({"organization", "user"} - {scope}).isdisjoint(params)
    assert params[scope] == (ORG if scope == "organization" else USER)


def test_an_event_becomes_one_canonical_appointment(api: FakeCalendly, config: Config) -> None:
    api.add(event("EVT-1"), invitee("EVT-1"))

    (appt,) = sync(config).listing.appointments

    assert appt.id == "EVT-1"
    assert appt.status == "scheduled"
    assert appt.start == datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
    assert appt.end == datetime(2026, 11, 24, 20, 50, tzinfo=UTC)
    assert appt.format == "telehealth" and appt.telehealth_url == ZOOM
    assert appt.updated_at == datetime(2026, 11, 10, 15, 0, tzinfo=UTC)
    assert (appt.therapist.id, appt.therapist.name, appt.therapist.display_name) == (
        "maya.chen@example.org",
        "Maya Chen",
        None,
    )
    (person,) = appt.participants
    assert person.id == "alex.rivera@example.org"  # the email, lowercased: a stable key
    assert (person.name, person.first_name, person.email) == (
        "Alex Rivera",
        "Alex",
        "Alex.Rivera@example.org",
    )
    assert person.mobile == "+1 617-555-0101"
    assert person.timezone == "America/Chicago"


def test_therapist_names_come_from_config_keyed_by_the_host_email(
    api: FakeCalendly, tmp_path: Path
) -> None:
    cfg = load_config(
        write_config(
            tmp_path,
            extra="""
        [therapists."Maya.Chen@example.org"]
        name = "Maya Chen, LCSW"
        display_name = "Dr. Chen"
        """,
        ),
        ENV,
    )
    api.add(event("EVT-1"), invitee("EVT-1"))

    (appt,) = sync(cfg).listing.appointments

    # The id is the config key itself, so that therapist's templates and link apply.
    assert (appt.therapist.id, appt.therapist.name, appt.therapist.display_name) == (
        "Maya.Chen@example.org",
        "Maya Chen, LCSW",
        "Dr. Chen",
    )


def test_invitees_are_paged_and_only_active_ones_are_participants(
    api: FakeCalendly, config: Config
) -> None:
    api.invitee_page_size = 2
    people = [
        invitee(
            "GRP-1",
            n,
            email=f"member{n}@example.org",
            name=f"Member{n} Example",
            mobile=f"+1 617 555 01{10 + n}",
        )
        for n in range(4)
    ]
    people.append(invitee("GRP-1", 9, email="left@example.org", status="canceled"))
    api.add(event("GRP-1", invitees=(5, 4)), *people)

    (appt,) = sync(config).listing.appointments

    assert api.count("invitees") == 3
    assert [p.id for p in appt.participants] == [f"member{n}@example.org" for n in range(4)]
    assert appt.status == "scheduled"


@pytest.mark.parametrize("old_status", ["canceled", "active"])
def test_a_rescheduled_invitee_cancels_the_old_event_and_the_new_one_carries_the_link(
    api: FakeCalendly, config: Config, old_status: str
) -> None:
    # Calendly: the old invitee is canceled with rescheduled = true and points at the new
    # one; the new booking is a new event. A one-on-one old event is canceled as a whole
    # ("canceled"); the "active" case covers an event left active with no active invitee.
    api.add(
        event(
            "EVT-OLD", status=old_status, invitees=(1, 0), updated_at="2026-11-22T09:00:00.000000Z"
        ),
        invitee(
            "EVT-OLD",
            status="canceled",
            rescheduled=True,
            new_invitee=f"{BASE}/scheduled_events/EVT-NEW/invitees/INV-EVT-NEW-1",
        ),
    )
    api.add(
        event(
            "EVT-NEW",
            start="2026-11-25T21:00:00.000000Z",
            location={"type": "zoom_conference", "status": "pushed", "join_url": ZOOM_NEW},
        ),
        invitee("EVT-NEW", old_invitee=f"{BASE}/scheduled_events/EVT-OLD/invitees/INV-EVT-OLD-1"),
    )

    found = by_id(sync(config).listing)

    assert found["EVT-OLD"].status == "canceled"
    assert found["EVT-OLD"].participants == ()
    new = found["EVT-NEW"]
    assert new.status == "scheduled" and new.telehealth_url == ZOOM_NEW
    assert new.start == datetime(2026, 11, 25, 21, 0, tzinfo=UTC)
    assert [p.id for p in new.participants] == ["alex.rivera@example.org"]
    # A canceled event's invitees are never read: nobody on it gets anything anyway.
    assert api.count("invitees") == (1 if old_status == "canceled" else 2)


def test_a_canceled_event_is_a_canceled_appointment(api: FakeCalendly, config: Config) -> None:
    api.add(event("EVT-1", status="canceled", invitees=(1, 0)), invitee("EVT-1", status="canceled"))

    (appt,) = sync(config).listing.appointments

    assert appt.status == "canceled"
    assert api.count("invitees") == 0


def test_an_invitee_without_text_reminder_number_has_no_mobile(
    api: FakeCalendly, config: Config
) -> None:
    api.add(event("EVT-1"), invitee("EVT-1", mobile=None))

    (appt,) = sync(config).listing.appointments

    assert appt.participants[0].mobile is None
    assert appt.participants[0].email == "Alex.Rivera@example.org"


@pytest.mark.parametrize(
    ("location", "fmt", "link"),
    [
        ({"type": "zoom_conference", "status": "pushed", "join_url": ZOOM}, "telehealth", ZOOM),
        (
            {
                "type": "google_conference",
                "status": "pushed",
                "join_url": "https://meet.google.com/abc-defg-hij",
            },
            "telehealth",
            "https://meet.google.com/abc-defg-hij",
        ),
        (
            {
                "type": "microsoft_teams_conference",
                "status": "pushed",
                "join_url": "https://teams.microsoft.com/l/meetup-join/19%3ameeting_x",
            },
            "telehealth",
            "https://teams.microsoft.com/l/meetup-join/19%3ameeting_x",
        ),
        # The meeting is not created yet: telehealth without a link (the core holds and flags).
        ({"type": "zoom_conference", "status": "processing"}, "telehealth", None),
        (None, "telehealth", None),
        (
            {"type": "custom", "location": "https://doxy.me/drchen"},
            "telehealth",
            "https://doxy.me/drchen",
        ),
        ({"type": "custom", "location": "Suite 200, 10 Main St"}, "in_person", None),
        (
            {"type": "custom", "location": "Join at https://doxy.me/drchen."},
            "telehealth",
            "https://doxy.me/drchen",
        ),
        ({"type": "ask_invitee", "location": "my office"}, "in_person", None),
        (
            {"type": "some_future_conference", "join_url": "https://meet.example.org/r/42"},
            "telehealth",
            "https://meet.example.org/r/42",
        ),
        ({"type": "physical", "location": "Riverside Therapy, Room 2"}, "in_person", None),
        ({"type": "outbound_call", "location": "+1 617 555 0101"}, "in_person", None),
    ],
)
def test_location_decides_format_and_link(
    api: FakeCalendly, config: Config, location: Any, fmt: str, link: str | None
) -> None:
    api.add(event("EVT-1", location=location), invitee("EVT-1"))

    (appt,) = sync(config).listing.appointments

    assert (appt.format, appt.telehealth_url) == (fmt, link)


def test_one_malformed_event_is_skipped_and_the_rest_is_read(
    api: FakeCalendly, config: Config
) -> None:
    api.add(event("EVT-1"), invitee("EVT-1"))
    api.add(event("EVT-BAD", start_time=None), invitee("EVT-BAD"))
    api.add(event("EVT-2", start="2026-11-26T20:00:00.000000Z"), invitee("EVT-2"))

    listing = sync(config).listing

    assert [a.id for a in listing.appointments] == ["EVT-1", "EVT-2"]
    assert listing.skipped_ids == {"EVT-BAD"} and listing.complete
    assert len(listing.problems) == 1 and "EVT-BAD" in listing.problems[0]
    assert "start_time" in listing.problems[0]
    assert api.count("invitees") == 2


def test_an_event_without_uri_makes_the_listing_incomplete(
    api: FakeCalendly, config: Config
) -> None:
    api.add(event("EVT-1"), invitee("EVT-1"))
    nameless = event("EVT-X")
    del nameless["uri"]
    api.events.append(nameless)

    listing = sync(config).listing

    assert [a.id for a in listing.appointments] == ["EVT-1"]
    assert not listing.complete  # nothing may look vanished this sync


# --- failures: the whole listing fails, naming calendly and the reason ----------------


def test_expired_token_names_the_token_variable(api: FakeCalendly, config: Config) -> None:
    api.inject(
        "me",
        1,
        httpx.Response(
            401, json={"title": "Unauthenticated", "message": "The access token is expired"}
        ),
    )

    with pytest.raises(SourceError) as exc:
        sync(config)

    message = exc.value.message
    assert message.startswith("calendly: HTTP 401")
    assert "token in CALENDLY_TOKEN was refused" in message
    assert TOKEN not in message
    assert exc.value.exit_code == 3


def test_rate_limit_with_a_near_reset_waits_once_then_reads(
    api: FakeCalendly, config: Config
) -> None:
    api.add(event("EVT-1"), invitee("EVT-1"))
    api.inject(
        "events",
        1,
        httpx.Response(
            429,
            headers={
                "X-RateLimit-Limit": "500",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": "5",
            },
            json={"title": "Too Many Requests"},
        ),
    )

    run = sync(config)

    assert run.sleeps == [5.0]
    assert [a.id for a in run.listing.appointments] == ["EVT-1"]


def test_rate_limit_with_a_far_reset_fails_and_says_when_to_retry(
    api: FakeCalendly, config: Config
) -> None:
    api.inject("events", 1, httpx.Response(429, headers={"X-RateLimit-Reset": "600"}))
    sleeps: list[float] = []
    source = calendly.build(config, ENV, NOW, client=shared_client(), sleep=sleeps.append)

    with pytest.raises(SourceError) as exc:
        source.fetch(WINDOW)

    assert sleeps == []
    assert exc.value.message == (
        "calendly: rate limited (HTTP 429); retry in 601 s; nothing was changed"
    )


def test_a_second_rate_limit_in_one_sync_fails_instead_of_waiting_again(
    api: FakeCalendly, config: Config
) -> None:
    api.add(event("EVT-1"), invitee("EVT-1"))
    limited = httpx.Response(429, headers={"X-RateLimit-Reset": "30"})
    api.inject("events", 1, limited)
    api.inject("invitees", 1, limited)
    sleeps: list[float] = []
    source = calendly.build(config, ENV, NOW, client=shared_client(), sleep=sleeps.append)

    with pytest.raises(SourceError, match="rate limited \\(HTTP 429\\); retry in 31 s"):
        source.fetch(WINDOW)
    assert sleeps == [30.0]


@pytest.mark.parametrize(
    ("route", "call", "response", "reason"),
    [
        ("events", 2, httpx.Response(500, json={"title": "Internal Server Error"}), "HTTP 500"),
        ("events", 2, httpx.Response(200, json={"data": []}), "without a 'collection'"),
        ("events", 3, httpx.Response(200, text="<html>maintenance</html>"), "did not return JSON"),
        ("invitees", 2, httpx.Response(502), "HTTP 502"),
        (
            "memberships",
            1,
            httpx.Response(200, json={"collection": None}),
            "without a 'collection'",
        ),
    ],
)
def test_any_failed_page_fails_the_whole_listing(
    api: FakeCalendly,
    config: Config,
    route: str,
    call: int,
    response: httpx.Response,
    reason: str,
) -> None:
    api.page_size = 1
    for n in range(3):
        api.add(event(f"EVT-{n}", start=f"2026-11-2{4 + n}T20:00:00.000000Z"), invitee(f"EVT-{n}"))
    api.inject(route, call, response)

    with pytest.raises(SourceError) as exc:
        sync(config)

    assert exc.value.message.startswith("calendly: ")
    assert reason in exc.value.message
    assert "nothing was changed" in exc.value.message


def test_a_network_timeout_fails_the_listing(api: FakeCalendly, config: Config) -> None:
    api.router.routes["events"].side_effect = httpx.ReadTimeout("slow")

    with pytest.raises(SourceError, match="calendly: timed out"):
        sync(config)


# --- the invitee cache ---------------------------------------------------------------


def cache_file(config: Config) -> Path:
    return config.store_path.with_name(config.store_path.name + ".calendly-cache.json")


def test_a_second_sync_of_unchanged_events_reads_no_invitees(
    api: FakeCalendly, config: Config
) -> None:
    for n in range(3):
        api.add(
            event(f"EVT-{n}", start=f"2026-11-2{4 + n}T20:00:00.000000Z"),
            invitee(f"EVT-{n}", email=f"client{n}@example.org"),
        )
    first = sync(config).listing
    assert api.count("invitees") == 3

    second = sync(config).listing

    assert api.count("invitees") == 3  # not one more
    assert [a.to_dict() for a in second.appointments] == [a.to_dict() for a in first.appointments]


def test_the_cache_is_owner_only_and_minimal(api: FakeCalendly, config: Config) -> None:
    api.add(event("EVT-1"), invitee("EVT-1"))
    sync(config)

    path = cache_file(config)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    data = json.loads(path.read_text())
    assert data["events"]["EVT-1"]["participants"] == [
        {
            "id": "alex.rivera@example.org",
            "name": "Alex Rivera",
            "first_name": "Alex",
            "email": "Alex.Rivera@example.org",
            "mobile": "+1 617-555-0101",
            "timezone": "America/Chicago",
        }
    ]
    assert "cancel_url" not in path.read_text() and "questions" not in path.read_text()


def test_a_changed_event_rereads_its_invitees_and_gone_events_leave_the_cache(
    api: FakeCalendly, config: Config
) -> None:
    api.add(event("EVT-1"), invitee("EVT-1"))
    api.add(event("EVT-2", start="2026-11-25T20:00:00.000000Z"), invitee("EVT-2"))
    sync(config)
    api.events[0]["updated_at"] = "2026-11-23T08:00:00.000000Z"
    api.invitees["EVT-1"] = [invitee("EVT-1", mobile="+1 617 555 0150")]
    del api.events[1]

    (appt,) = sync(config).listing.appointments

    assert api.count("invitees") == 3
    assert appt.participants[0].mobile == "+1 617 555 0150"
    assert set(json.loads(cache_file(config).read_text())["events"]) == {"EVT-1"}


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        '{"version": 1, "events": []}',
        "[]",
        '{"version": 1, "events": {"EVT-1": {"key": 3}}}',
    ],
)
def test_a_corrupt_cache_is_ignored(api: FakeCalendly, config: Config, content: str) -> None:
    api.add(event("EVT-1"), invitee("EVT-1"))
    cache_file(config).write_text(content)

    (appt,) = sync(config).listing.appointments

    assert appt.participants[0].id == "alex.rivera@example.org"
    assert api.count("invitees") == 1


def test_invitees_read_before_a_failure_are_kept_so_the_next_sync_progresses(
    api: FakeCalendly, config: Config
) -> None:
    for n in range(3):
        api.add(event(f"EVT-{n}", start=f"2026-11-2{4 + n}T20:00:00.000000Z"), invitee(f"EVT-{n}"))
    api.inject("invitees", 3, httpx.Response(429, headers={"X-RateLimit-Reset": "600"}))
    with pytest.raises(SourceError):
        sync(config)

    listing = sync(config).listing

    assert len(listing.appointments) == 3
    assert api.count("invitees") == 4  # 3 in the failed sync, only the missing one now


def test_cache_path_setting_and_turning_it_off(api: FakeCalendly, tmp_path: Path) -> None:
    api.add(event("EVT-1"), invitee("EVT-1"))
    custom = load_config(write_config(tmp_path, 'cache_path = "state/cal.json"\n'), ENV)
    sync(custom)
    assert (tmp_path / "state" / "cal.json").exists()

    off = load_config(write_config(tmp_path, 'cache_path = ""\n'), ENV)
    sync(off)
    sync(off)
    assert api.count("invitees") == 3


def test_a_no_change_sync_of_100_appointments_makes_3_requests(
    api: FakeCalendly, config: Config
) -> None:
    start = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)
    for n in range(100):
        at = (start + timedelta(hours=n)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        api.add(
            event(f"EVT-{n:03d}", start=at), invitee(f"EVT-{n:03d}", email=f"client{n}@example.org")
        )
    first = sync(config)
    assert len(first.listing.appointments) == 100
    assert first.source.requests == 103  # me, memberships, 1 page of events, 100 invitees
    before = api.total

    second = sync(config)

    # users/me + organization_memberships + one 100-event page; invitees from the cache.
    assert second.source.requests == 3
    assert api.total - before == 3
    assert len(second.listing.appointments) == 100


# --- configuration ---------------------------------------------------------------------


def test_unknown_and_mistyped_settings_are_config_errors(tmp_path: Path) -> None:
    # Read with the rest of the file (since issue 10): each problem names its line.
    with pytest.raises(ConfigError) as exc:
        load_config(write_config(tmp_path, 'organisation = "x"\ntimeout = "fast"\n'), ENV)

    assert re.match(r"source\.organisation \(line \d+\): unknown key", exc.value.problems[0])
    assert exc.value.problems[1].startswith("source.timeout (line ")
    assert exc.value.exit_code == 2


def test_the_token_comes_from_the_named_environment_variable(
    api: FakeCalendly, tmp_path: Path
) -> None:
    cfg = load_config(write_config(tmp_path, 'token_env = "RIVERSIDE_CALENDLY"\n'), ENV)
    with pytest.raises(ConfigError, match="RIVERSIDE_CALENDLY is not set"):
        calendly.build(cfg, ENV, NOW)

    api.add(event("EVT-1"), invitee("EVT-1"))
    run = sync(cfg, {"RIVERSIDE_CALENDLY": TOKEN})
    assert len(run.listing.appointments) == 1


# --- end to end through the CLI ------------------------------------------------------


def test_cli_sync_then_preview_shows_the_24h_sms_with_the_join_url(
    api: FakeCalendly, tmp_path: Path
) -> None:
    path = write_config(tmp_path)
    api.add(event("EVT-1"), invitee("EVT-1"))
    env = {**ENV, "LINKCLI_NOW": "2026-11-23T12:00:00Z", "LINKCLI_CONFIG": str(path)}
    runner = CliRunner()

    synced = runner.invoke(app, ["sync"], env=env)
    assert synced.exit_code == 0, (synced.output, synced.stderr)
    assert synced.stderr == ""
    shown = runner.invoke(app, ["preview", "--json"], env=env)
    assert shown.exit_code == 0, shown.stderr

    sms = [
        m for m in json.loads(shown.stdout) if m["step"] == "reminder-24h" and m["channel"] == "sms"
    ]
    assert len(sms) == 1
    (msg,) = sms
    assert msg["appointment"] == "EVT-1"
    assert msg["participant"] == "alex.rivera@example.org"
    assert msg["recipient"].endswith("0101")  # masked text_reminder_number
    assert msg["due"].startswith("2026-11-23T20:00")  # 24 h before 20:00 UTC
    assert ZOOM in msg["body"] and "Maya Chen" in msg["body"]


def test_cli_sync_with_a_refused_token_exits_3_with_one_line(
    api: FakeCalendly, tmp_path: Path
) -> None:
    path = write_config(tmp_path)
    api.inject("me", 1, httpx.Response(401, json={"title": "Unauthenticated"}))
    env = {**ENV, "LINKCLI_NOW": "2026-11-23T12:00:00Z", "LINKCLI_CONFIG": str(path)}

    result = CliRunner().invoke(app, ["sync"], env=env)

    assert result.exit_code == 3
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("linkcli: error: calendly: HTTP 401")
    assert "CALENDLY_TOKEN" in lines[0]
