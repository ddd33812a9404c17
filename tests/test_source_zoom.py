"""The zoom source against Zoom's REST v2 shapes, answered by respx (never the network).

Every source here is built the way `linkcli sync` builds it: from a real config.toml
through `load_config` and `linkcli.sources.zoom.build`.
"""

from __future__ import annotations

import base64
import copy
import json
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from typer.testing import CliRunner

from linkcli.cli import app
from linkcli.config import Config, load_config
from linkcli.errors import ConfigError, SourceError
from linkcli.sources import open_source
from linkcli.sources.base import Window
from linkcli.sources.zoom import OAUTH_REFUSED, Credentials, TokenCache, ZoomSource, build
from tests.conftest import OUTBOX_CHANNELS
from tests.conftest import write_config as conftest_write_config

FIXTURES = Path(__file__).parent / "fixtures" / "zoom"
API = "https://api.zoom.us/v2"
OAUTH = "https://zoom.us/oauth/token"
SECRET = "client-secret-test-not-real"
ENV = {
    "ZOOM_ACCOUNT_ID": "acct-test-1",
    "ZOOM_CLIENT_ID": "client-id-test",
    "ZOOM_CLIENT_SECRET": SECRET,
}
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
WINDOW = Window(NOW - timedelta(days=1), NOW + timedelta(days=30))
PLAIN = "85512345678"
GROUP = "85598765432"
PLAIN_LINK = "https://us02web.zoom.us/j/85512345678?pwd=AbCdEf123"
GROUP_LINK = "https://us02web.zoom.us/j/85598765432?pwd=GrOuP456"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def write_config(root: Path, source_extra: str = "", extra: str = "") -> Path:
    """A practice config with a zoom source; returns the config path."""
    return conftest_write_config(
        root,
        """\
        [practice]
        name = "Riverside Therapy"
        timezone = "America/New_York"

        [store]
        path = "linkcli.db"

        [source]
        kind = "zoom"
        """,
        source_extra,
        """
        [therapists."host-maya"]
        name = "Maya Chen"
        display_name = "Dr. Chen"
        """,
        extra,
    )


def config_for(root: Path, source_extra: str = "") -> Config:
    return load_config(write_config(root, source_extra), ENV)


def meeting(n: int, **extra: Any) -> dict[str, Any]:
    """A synthetic scheduled meeting, n hours after the fixture clock's next day."""
    start = NOW + timedelta(days=1, hours=n)
    record = {
        "uuid": f"uuid-{n}==",
        "id": 86000000000 + n,
        "host_id": "host-maya",
        "topic": f"Client {n}",
        "type": 2,
        "start_time": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration": 50,
        "timezone": "America/New_York",
        "join_url": f"https://us02web.zoom.us/j/{86000000000 + n}?pwd=Pw{n}",
        "start_url": f"https://us02web.zoom.us/s/{86000000000 + n}?zak=HOST-ONLY",
    }
    record.update(extra)
    return record


@dataclass
class ZoomApi:
    """Zoom's OAuth and meeting endpoints, answered locally; counts what was asked."""

    router: respx.MockRouter
    pages: dict[str, dict[str, Any]] = field(default_factory=dict)  # page token -> page
    details: dict[str, dict[str, Any]] = field(default_factory=dict)
    registrants: dict[str, dict[str, Any]] = field(default_factory=dict)
    valid: set[str] = field(default_factory=set)  # tokens the API accepts
    refuse_all: bool = False  # the app lost its scopes: even fresh tokens get 401
    issued: int = 0
    oauth_status: int = 200
    queued: list[httpx.Response] = field(default_factory=list)  # answers before the list
    list_queries: list[dict[str, str]] = field(default_factory=list)
    seen_tokens: list[str] = field(default_factory=list)
    oauth_forms: list[dict[str, str]] = field(default_factory=list)
    oauth_auth: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.oauth = self.router.post(OAUTH).mock(side_effect=self._token)
        self.list = self.router.get(url__regex=rf"^{API}/users/[^/]+/meetings").mock(
            side_effect=self._list
        )
        self.registrant_route = self.router.get(
            url__regex=rf"^{API}/meetings/\d+/registrants"
        ).mock(side_effect=self._registrants)
        self.detail = self.router.get(url__regex=rf"^{API}/meetings/\d+(\?|$)").mock(
            side_effect=self._detail
        )

    @property
    def requests(self) -> int:
        return len(self.router.calls)

    def _token(self, request: httpx.Request) -> httpx.Response:
        self.oauth_forms.append({k: v[0] for k, v in parse_qs(request.content.decode()).items()})
        self.oauth_auth.append(request.headers.get("Authorization", ""))
        if self.oauth_status != 200:
            return httpx.Response(
                self.oauth_status,
                json={"reason": "Invalid client_id or client_secret", "error": "invalid_client"},
            )
        self.issued += 1
        token = f"test-access-token-{self.issued}"
        self.valid.add(token)
        body = fixture("oauth_token.json")
        body["access_token"] = token
        return httpx.Response(200, json=body)

    def _authorized(self, request: httpx.Request) -> bool:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        self.seen_tokens.append(token)
        return token in self.valid and not self.refuse_all

    def _list(self, request: httpx.Request) -> httpx.Response:
        if not self._authorized(request):
            return httpx.Response(401, json={"code": 124, "message": "Invalid access token."})
        self.list_queries.append(dict(request.url.params))
        if self.queued:
            return self.queued.pop(0)
        page = self.pages.get(request.url.params.get("next_page_token", ""))
        if page is None:
            return httpx.Response(400, json={"code": 300, "message": "Invalid next page token"})
        return httpx.Response(200, json=page)

    def _detail(self, request: httpx.Request) -> httpx.Response:
        if not self._authorized(request):
            return httpx.Response(401, json={"code": 124, "message": "Invalid access token."})
        meeting_id = request.url.path.rsplit("/", 1)[-1]
        default = {
            "id": int(meeting_id),
            "host_email": "maya.chen@example.org",
            "settings": {"approval_type": 2},
        }
        return httpx.Response(200, json=self.details.get(meeting_id, default))

    def _registrants(self, request: httpx.Request) -> httpx.Response:
        if not self._authorized(request):
            return httpx.Response(401, json={"code": 124, "message": "Invalid access token."})
        assert request.url.params["status"] == "approved"
        meeting_id = request.url.path.split("/")[-2]
        return httpx.Response(
            200, json=self.registrants.get(meeting_id, {"registrants": [], "next_page_token": ""})
        )

    def one_page(self, meetings: list[dict[str, Any]]) -> None:
        self.pages = {"": {"page_size": 300, "next_page_token": "", "meetings": meetings}}

    def registration(self, meeting_id: str, people: list[dict[str, Any]]) -> None:
        self.details[meeting_id] = {
            "id": int(meeting_id),
            "host_email": "maya.chen@example.org",
            "settings": {"approval_type": 0},
        }
        self.registrants[meeting_id] = {"next_page_token": "", "registrants": people}


@pytest.fixture
def zoom() -> Iterator[ZoomApi]:
    with respx.mock(assert_all_called=False) as router:
        api = ZoomApi(router)
        api.pages = {"": fixture("meetings_page.json")}
        api.details = {
            PLAIN: fixture("meeting_plain.json"),
            GROUP: fixture("meeting_registration.json"),
        }
        api.registrants = {GROUP: fixture("registrants.json")}
        yield api


@pytest.fixture(scope="module")
def shared_client() -> Iterator[httpx.Client]:
    # One client for the module: each new one builds an SSL context (~50 ms), and these
    # tests make dozens of sources. Each cron run builds its own; see the CLI tests.
    with httpx.Client(timeout=5) as client:
        yield client


@pytest.fixture
def source(shared_client: httpx.Client) -> Any:
    """Factory: the zoom source for a config at an instant, recording its sleeps."""

    def make(
        config: Config,
        now: datetime = NOW,
        sleeps: list[float] | None = None,
        env: dict[str, str] | None = None,
    ) -> ZoomSource:
        recorder = sleeps if sleeps is not None else []
        return build(config, env or ENV, now, client=shared_client, sleep=recorder.append)

    return make


# --- mapping -------------------------------------------------------------------------


def test_meetings_become_canonical_appointments(tmp_path: Path, zoom: ZoomApi) -> None:
    config = config_for(tmp_path)
    listing = open_source(config, ENV, NOW).fetch(WINDOW)  # the path `sync` takes

    assert listing.problems == [] and listing.complete
    by_id = {a.id: a for a in listing.appointments}
    assert set(by_id) == {PLAIN, GROUP}  # far-future and no-fixed-time meetings left out
    plain = by_id[PLAIN]
    assert plain.start == datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
    assert plain.end == plain.start + timedelta(minutes=50)
    assert plain.status == "scheduled" and plain.format == "telehealth"
    assert plain.telehealth_url == PLAIN_LINK
    assert (plain.therapist.id, plain.therapist.name, plain.therapist.shown) == (
        "host-maya",
        "Maya Chen",
        "Dr. Chen",
    )
    # No registrants: one participant named after the topic, for the contacts join.
    assert [(p.id, p.name) for p in plain.participants] == [("", "Alex Rivera session")]

    group = by_id[GROUP]
    assert group.end == group.start + timedelta(minutes=90)
    # Not in [therapists]: the host's email is not a name a client may read.
    assert (group.therapist.id, group.therapist.shown) == ("host-sam", "your therapist")
    # The meeting's link for everyone, not a registrant's personal /w/ link.
    assert group.telehealth_url == GROUP_LINK
    jordan, casey = group.participants
    assert (jordan.id, jordan.name, jordan.first_name, jordan.email, jordan.mobile) == (
        "jordan.lee@example.org",
        "Jordan Lee",
        "Jordan",
        "Jordan.Lee@Example.org",
        "+1 617 555 0102",
    )
    assert (casey.id, casey.mobile) == ("casey.morgan@example.org", None)

    # Registrants are read only for the meeting with registration on.
    assert zoom.registrant_route.call_count == 1
    assert zoom.list_queries[0] == {"type": "upcoming", "page_size": "300"}


def test_start_url_is_never_used(tmp_path: Path, zoom: ZoomApi, source: Any) -> None:
    listing = source(config_for(tmp_path)).fetch(WINDOW)
    dumped = json.dumps([a.to_dict() for a in listing.appointments])
    assert "zak=" not in dumped and "/s/" not in dumped and "HOST-CREDENTIAL" not in dumped
    assert "tk=PERSONAL" not in dumped


def test_missing_join_url_leaves_the_link_empty_never_the_start_url(
    tmp_path: Path, zoom: ZoomApi, source: Any
) -> None:
    zoom.one_page([meeting(1, join_url=None), meeting(2)])
    del zoom.pages[""]["meetings"][1]["join_url"]
    listing = source(config_for(tmp_path)).fetch(WINDOW)
    assert [a.telehealth_url for a in listing.appointments] == [None, None]
    assert listing.problems == []  # the core sends such a session to `attention`


def test_registration_meeting_without_registrants_falls_back_to_the_topic(
    tmp_path: Path, zoom: ZoomApi, source: Any
) -> None:
    zoom.one_page([meeting(1, topic="Alex Rivera")])
    zoom.registration(str(86000000001), [])
    (appt,) = source(config_for(tmp_path)).fetch(WINDOW).appointments
    assert [(p.id, p.name) for p in appt.participants] == [("", "Alex Rivera")]


def test_recurring_occurrences_get_their_own_ids_and_one_detail_read(
    tmp_path: Path, zoom: ZoomApi, source: Any
) -> None:
    series = 87000000008
    zoom.one_page(
        [
            meeting(1, id=series, type=8, start_time="2026-11-23T15:00:00Z"),
            meeting(2, id=series, type=8, start_time="2026-11-30T15:00:00Z"),
        ]
    )
    listing = source(config_for(tmp_path)).fetch(WINDOW)
    assert [a.id for a in listing.appointments] == [
        f"{series}/2026-11-23T15:00:00Z",
        f"{series}/2026-11-30T15:00:00Z",
    ]
    assert zoom.detail.call_count == 1


def test_one_malformed_meeting_is_skipped_and_kept(
    tmp_path: Path, zoom: ZoomApi, source: Any
) -> None:
    zoom.one_page([meeting(1, start_time="next Tuesday"), meeting(2, duration="fifty"), meeting(3)])
    listing = source(config_for(tmp_path)).fetch(WINDOW)
    assert [a.id for a in listing.appointments] == ["86000000003"]
    assert listing.skipped_ids == {"86000000001", "86000000002"}  # never read as vanished
    assert len(listing.problems) == 2 and "start_time" in listing.problems[0]


def test_registrants_off_reads_one_request_per_page(
    tmp_path: Path, zoom: ZoomApi, source: Any
) -> None:
    zoom.one_page([meeting(n) for n in range(1, 6)])
    src = source(config_for(tmp_path, "registrants = false\n"))
    listing = src.fetch(WINDOW)
    assert len(listing.appointments) == 5
    assert (src.requests, zoom.detail.call_count) == (2, 0)  # OAuth + the one list page
    assert listing.appointments[0].therapist.name == "Maya Chen"


# --- OAuth and the token cache -------------------------------------------------------


def test_token_is_fetched_once_and_reused_until_it_expires(
    tmp_path: Path, zoom: ZoomApi, source: Any
) -> None:
    config = config_for(tmp_path)
    source(config).fetch(WINDOW)
    assert zoom.oauth.call_count == 1
    form = zoom.oauth_forms[0]
    assert form == {"grant_type": "account_credentials", "account_id": "acct-test-1"}
    expected = base64.b64encode(f"client-id-test:{SECRET}".encode()).decode()
    assert zoom.oauth_auth[0] == f"Basic {expected}"

    cache = Path(f"{config.store_path}.zoom-token.json")
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert SECRET not in cache.read_text()

    # The next cron run, 40 minutes later: a new process, the same token.
    source(config, NOW + timedelta(minutes=40)).fetch(WINDOW)
    assert zoom.oauth.call_count == 1
    assert set(zoom.seen_tokens) == {"test-access-token-1"}

    # Past the hour: a new token, and the cache now holds it.
    source(config, NOW + timedelta(hours=2)).fetch(WINDOW)
    assert zoom.oauth.call_count == 2
    assert json.loads(cache.read_text())["access_token"] == "test-access-token-2"


def test_token_cache_setting_and_a_corrupt_cache(
    tmp_path: Path, zoom: ZoomApi, source: Any
) -> None:
    config = config_for(tmp_path, 'token_cache = "state/zoom.json"\n')
    cache = tmp_path / "state" / "zoom.json"
    cache.parent.mkdir()
    cache.write_text("{not json")
    source(config).fetch(WINDOW)
    assert zoom.oauth.call_count == 1
    assert json.loads(cache.read_text())["access_token"] == "test-access-token-1"

    # A token cached for another app (other client id) is not reused.
    env = {**ENV, "ZOOM_CLIENT_ID": "another-client"}
    source(load_config(config.path, env), env=env).fetch(WINDOW)
    assert zoom.oauth.call_count == 2


def test_401_on_cached_token_gets_exactly_one_fresh_token(
    tmp_path: Path, zoom: ZoomApi, source: Any
) -> None:
    config = config_for(tmp_path)
    source(config).fetch(WINDOW)  # caches test-access-token-1
    zoom.valid.clear()  # Zoom revoked it (the app was re-activated, say)

    listing = source(config, NOW + timedelta(minutes=10)).fetch(WINDOW)
    assert len(listing.appointments) == 2
    assert zoom.oauth.call_count == 2  # the seeding call + exactly one refresh
    cache = Path(f"{config.store_path}.zoom-token.json")
    assert json.loads(cache.read_text())["access_token"] == "test-access-token-2"


def test_401_even_with_a_fresh_token_fails_the_read(
    tmp_path: Path, zoom: ZoomApi, source: Any
) -> None:
    config = config_for(tmp_path)
    source(config).fetch(WINDOW)
    zoom.refuse_all = True
    with pytest.raises(SourceError, match="zoom: HTTP 401 .* fresh OAuth token"):
        source(config, NOW + timedelta(minutes=10)).fetch(WINDOW)
    assert zoom.oauth.call_count == 2  # one refresh, not a loop


@pytest.mark.parametrize("status", [400, 401])
def test_refused_credentials(tmp_path: Path, zoom: ZoomApi, status: int, source: Any) -> None:
    zoom.oauth_status = status
    with pytest.raises(SourceError) as caught:
        source(config_for(tmp_path)).fetch(WINDOW)
    assert caught.value.message == OAUTH_REFUSED
    assert SECRET not in str(caught.value)
    assert zoom.list.call_count == 0


def test_missing_secret_names_the_variable(tmp_path: Path) -> None:
    config = config_for(tmp_path)
    env = {k: v for k, v in ENV.items() if k != "ZOOM_CLIENT_SECRET"}
    with pytest.raises(ConfigError, match="ZOOM_CLIENT_SECRET"):
        build(config, env, NOW)
    renamed = config_for(tmp_path, 'client_secret_env = "PRACTICE_ZOOM_SECRET"\n')
    with pytest.raises(ConfigError, match="PRACTICE_ZOOM_SECRET"):
        build(renamed, ENV, NOW)


def test_unknown_or_bad_settings_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"source.user \(line \d+\): unknown key"):
        build(config_for(tmp_path, 'user = "me"\n'), ENV, NOW)
    with pytest.raises(ConfigError, match="source.users"):
        build(config_for(tmp_path, 'users = "me"\n'), ENV, NOW)


# --- paging and failures --------------------------------------------------------------


def three_pages(zoom: ZoomApi) -> None:
    zoom.pages = {
        "": {"next_page_token": "tok-2", "meetings": [meeting(1), meeting(2)]},
        "tok-2": {"next_page_token": "tok-3", "meetings": [meeting(3)]},
        "tok-3": {"next_page_token": "", "meetings": [meeting(4), meeting(5)]},
    }


def test_paging_follows_next_page_token(tmp_path: Path, zoom: ZoomApi, source: Any) -> None:
    three_pages(zoom)
    listing = source(config_for(tmp_path)).fetch(WINDOW)
    assert [a.id for a in listing.appointments] == [f"8600000000{n}" for n in range(1, 6)]
    assert [q.get("next_page_token") for q in zoom.list_queries] == [None, "tok-2", "tok-3"]


def test_a_500_mid_paging_fails_the_whole_read(tmp_path: Path, zoom: ZoomApi, source: Any) -> None:
    three_pages(zoom)
    zoom.pages["tok-2"] = None  # type: ignore[assignment]
    zoom.list.side_effect = lambda request: (
        httpx.Response(500, json={"code": 500, "message": "internal"})
        if request.url.params.get("next_page_token") == "tok-2"
        else zoom._list(request)
    )
    with pytest.raises(SourceError, match="HTTP 500 .*nothing was changed"):
        source(config_for(tmp_path)).fetch(WINDOW)


def test_429_waits_out_retry_after_then_reads(tmp_path: Path, zoom: ZoomApi, source: Any) -> None:
    zoom.queued = [
        httpx.Response(
            429, headers={"Retry-After": "2"}, json={"code": 429, "message": "Too many requests"}
        )
    ]
    sleeps: list[float] = []
    listing = source(config_for(tmp_path), sleeps=sleeps).fetch(WINDOW)
    assert sleeps == [2.0]
    assert len(listing.appointments) == 2


@pytest.mark.parametrize(
    "page",
    [
        {"meetings": "none today", "next_page_token": ""},
        {"code": 300, "message": "a body without the list"},
        {"meetings": [], "next_page_token": 12},
        ["not", "a", "page"],
    ],
)
def test_a_malformed_page_fails_the_whole_read(
    tmp_path: Path, zoom: ZoomApi, page: Any, source: Any
) -> None:
    zoom.pages = {"": page}
    with pytest.raises(SourceError, match="page 1 of /users/me/meetings"):
        source(config_for(tmp_path)).fetch(WINDOW)


def test_a_page_that_is_not_json_fails_the_whole_read(
    tmp_path: Path, zoom: ZoomApi, source: Any
) -> None:
    zoom.queued = [httpx.Response(200, text="<html>maintenance</html>")]
    with pytest.raises(SourceError, match="did not return JSON"):
        source(config_for(tmp_path)).fetch(WINDOW)


def test_a_repeated_page_token_fails_instead_of_looping(
    tmp_path: Path, zoom: ZoomApi, source: Any
) -> None:
    zoom.pages = {
        "": {"next_page_token": "same", "meetings": [meeting(1)]},
        "same": {"next_page_token": "same", "meetings": [meeting(2)]},
    }
    with pytest.raises(SourceError, match="repeats a page token"):
        source(config_for(tmp_path)).fetch(WINDOW)


# --- what a sync costs ---------------------------------------------------------------


def seed_token(config: Config, zoom: ZoomApi, token: str = "test-access-token-0") -> None:
    """A token left in the cache by the previous cron run, good for another 45 minutes."""
    credentials = Credentials(ENV["ZOOM_ACCOUNT_ID"], ENV["ZOOM_CLIENT_ID"], SECRET)
    cache = TokenCache(Path(f"{config.store_path}.zoom-token.json"), credentials.fingerprint(OAUTH))
    cache.save(token, NOW + timedelta(minutes=45))
    zoom.valid.add(token)


@pytest.mark.parametrize(("with_registration", "expected"), [(0, 101), (100, 201)])
def test_requests_for_100_meetings(
    tmp_path: Path, zoom: ZoomApi, with_registration: int, expected: int, source: Any
) -> None:
    """A first sync with a good cached token: 1 list page + 1 read per meeting in the
    window + 1 registrants read per meeting with registration on."""
    meetings = [meeting(n) for n in range(1, 101)]
    zoom.one_page(meetings)
    for m in meetings[:with_registration]:
        zoom.registration(
            str(m["id"]),
            [
                {
                    "email": f"client{m['id'] % 100}@example.org",
                    "first_name": "Client",
                    "phone": "+1 617 555 0110",
                }
            ],
        )
    config = config_for(tmp_path)
    seed_token(config, zoom)
    src = source(config)
    assert len(src.fetch(WINDOW).appointments) == 100
    assert src.requests == zoom.requests == expected
    assert zoom.oauth.call_count == 0


def test_the_first_run_of_the_hour_adds_one_oauth_call(
    tmp_path: Path, zoom: ZoomApi, source: Any
) -> None:
    zoom.one_page([meeting(n) for n in range(1, 4)])
    src = source(config_for(tmp_path))
    src.fetch(WINDOW)
    assert src.requests == zoom.requests == 1 + 1 + 3  # OAuth, list page, 3 meeting reads


# --- end to end through the CLI ------------------------------------------------------


E2E_SOURCE = """\
    base_url = "https://api.zoom.us/v2"
    oauth_url = "https://zoom.us/oauth/token"
    users = ["me"]
    """
E2E_CHANNELS = OUTBOX_CHANNELS


def cli(tmp_path: Path, *args: str) -> Any:
    env = {
        **ENV,
        "LINKCLI_NOW": "2026-11-20T15:00:00Z",
        "LINKCLI_CONFIG": str(tmp_path / "config.toml"),
    }
    return CliRunner().invoke(app, list(args), env=env)


def test_cli_sync_and_preview_send_the_meeting_link_to_the_registrant(
    tmp_path: Path, zoom: ZoomApi
) -> None:
    registrant = copy.deepcopy(fixture("registrants.json"))
    registrant["registrants"] = registrant["registrants"][:1]  # Jordan, with a mobile
    registrant["total_records"] = 1
    zoom.one_page([m for m in fixture("meetings_page.json")["meetings"] if str(m["id"]) == GROUP])
    zoom.registrants = {GROUP: registrant}
    write_config(tmp_path, E2E_SOURCE, E2E_CHANNELS)

    synced = cli(tmp_path, "sync")
    assert synced.exit_code == 0, (synced.output, synced.stderr)

    preview = cli(tmp_path, "preview", "--json")
    assert preview.exit_code == 0, preview.stderr
    items = json.loads(preview.stdout)
    texts = [i for i in items if i["channel"] == "sms"]
    assert texts and {i["appointment"] for i in texts} == {GROUP}
    reminder = next(i for i in texts if i["step"] == "reminder-24h")
    assert reminder["participant"] == "jordan.lee@example.org"
    assert GROUP_LINK in reminder["body"] and "tk=PERSONAL" not in reminder["body"]
    assert reminder["recipient"] != "+16175550102" and reminder["recipient"].endswith("0102")
    assert "zak=" not in preview.stdout


def test_cli_sync_exits_3_with_one_line_when_oauth_is_refused(
    tmp_path: Path, zoom: ZoomApi
) -> None:
    zoom.oauth_status = 401
    write_config(tmp_path, E2E_SOURCE, E2E_CHANNELS)
    result = cli(tmp_path, "sync")
    assert result.exit_code == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "OAuth credentials were refused" in lines[0]
    assert SECRET not in result.stderr + result.stdout


def test_cli_topic_meetings_join_the_contacts_directory_and_a_no_change_sync_costs(
    tmp_path: Path, zoom: ZoomApi
) -> None:
    """A meeting without registrants reaches its client through [contacts] by topic; the
    second sync (nothing changed, token and meeting details cached) reads 1 list page."""
    (tmp_path / "contacts.csv").write_text(
        "client,name,email,mobile,channels,timezone\n"
        "cl-1,Alex Rivera,alex@example.org,+1 617 555 0101,both,America/Chicago\n"
    )
    zoom.one_page(
        [m for m in fixture("meetings_page.json")["meetings"] if str(m["id"]) == PLAIN]
        + [meeting(n) for n in range(1, 4)]
    )
    write_config(tmp_path, E2E_SOURCE, E2E_CHANNELS + '\n[contacts]\npath = "contacts.csv"\n')

    first = cli(tmp_path, "sync")
    assert first.exit_code == 0, first.stderr
    assert "title 'Client 1' matches no contact" in first.stderr  # reported, not guessed
    before = zoom.requests
    second = cli(tmp_path, "sync")
    assert second.exit_code == 0, second.stderr
    assert zoom.requests - before == 1  # no OAuth, no meeting reads: cached beside the db

    items = json.loads(cli(tmp_path, "preview", "--json").stdout)
    final = next(i for i in items if i["step"] == "final-30m")
    assert (final["appointment"], final["participant"]) == (PLAIN, "cl-1")
    assert final["recipient"].endswith("0101") and PLAIN_LINK in final["body"]
    assert "Dr. Chen" in final["body"]
