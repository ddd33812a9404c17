"""The `rest` source: real Config files, HTTP answered by respx (never the network)."""

from __future__ import annotations

import json
import re
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from typer.testing import CliRunner

from linkcli.cli import app
from linkcli.config import Config, load_config
from linkcli.context import Seams
from linkcli.errors import ConfigError, SourceError
from linkcli.sources import open_source
from linkcli.sources.base import Window
from linkcli.sources.rest import RestSource, build, lookup
from tests.conftest import write_config as conftest_write_config

FIXTURES = Path(__file__).parent / "fixtures" / "rest"
GATEWAY = "https://gateway.example.org"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
WINDOW = Window(NOW - timedelta(days=1), NOW + timedelta(days=30))
TOKEN = "rest-test-token-7c1d"  # a fake; asserted never to leak into error text
ENV = {"LINKCLI_REST_TOKEN": TOKEN, "TN_GATEWAY_KEY": "tn-test-key-42"}

HEAD = """
[practice]
name = "Example Practice"
timezone = "America/New_York"

[store]
path = "linkcli.db"

[sms]
provider = "outbox"
outbox_path = "outbox-sms.jsonl"

[email]
provider = "outbox"
outbox_path = "outbox-email.jsonl"
"""

# The smallest useful mapping: one flat client per record.
MINI = """
[source]
kind = "rest"
base_url = "https://gateway.example.org"
path = "/v1/appointments"
items = "data"

[source.map]
id = "id"
start = "start"
therapist_id = "therapist"
link = "url"
participant_id = "client.id"
name = "client.name"
mobile = "client.mobile"
"""


@pytest.fixture(scope="module")
def tls() -> ssl.SSLContext:
    """One TLS context for the module: loading the CA bundle costs ~0.25 s each time."""
    return httpx.create_ssl_context()


@pytest.fixture
def client(tls: ssl.SSLContext) -> Iterator[httpx.Client]:
    """A fresh client per test (a sync closes its source's client), cheap on a shared context."""
    with httpx.Client(verify=tls, follow_redirects=False) as fresh:
        yield fresh


def make_config(tmp_path: Path, source_toml: str) -> Config:
    return load_config(conftest_write_config(tmp_path, HEAD, source_toml), {})


def fixture_toml(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def page(name: str) -> httpx.Response:
    return httpx.Response(200, json=json.loads((FIXTURES / name).read_text(encoding="utf-8")))


def record(rid: str, start: str | None = "2026-11-24T15:00:00-05:00", **extra: Any) -> dict:
    data: dict[str, Any] = {
        "id": rid,
        "therapist": "th-1",
        "url": f"https://us02web.zoom.us/j/8551{rid[-4:]}",
        "client": {"id": f"cl-{rid}", "name": "Alex Rivera", "mobile": "+1 617 555 0101"},
        **extra,
    }
    if start is not None:
        data["start"] = start
    return data


def mini_source(tmp_path: Path, extra: str = "", **kwargs: Any) -> RestSource:
    config = make_config(tmp_path, MINI.replace("[source.map]", extra + "\n[source.map]"))
    return build(config, ENV, NOW, **kwargs)


def test_simplepractice_style_three_pages_by_next_url(tmp_path: Path, client: httpx.Client) -> None:
    config = make_config(tmp_path, fixture_toml("simplepractice.toml"))
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(url__startswith=f"{GATEWAY}/sp/v1/appointments").mock(
            side_effect=[page("sp-page1.json"), page("sp-page2.json"), page("sp-page3.json")]
        )
        listing = open_source(config, ENV, NOW, client=client).fetch(WINDOW)

    urls = [str(call.request.url) for call in route.calls]
    assert urls == [
        f"{GATEWAY}/sp/v1/appointments?per_page=2&from=2026-11-22T12%3A00%3A00Z"
        "&to=2026-12-23T12%3A00%3A00Z",
        f"{GATEWAY}/sp/v1/appointments?page=2&per_page=2",  # the next link, as given
        f"{GATEWAY}/sp/v1/appointments?page=3&per_page=2",  # a relative one, resolved
    ]
    assert all(c.request.headers["Authorization"] == f"Bearer {TOKEN}" for c in route.calls)
    assert listing.problems == [] and listing.complete
    by_id = {a.id: a for a in listing.appointments}
    assert sorted(by_id) == ["sp-5001", "sp-5002", "sp-5003", "sp-5004", "sp-5006"]  # 5005: 2027

    first = by_id["sp-5001"]
    assert first.status == "scheduled"  # "confirmed", through the model's aliases
    assert first.start == datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
    assert first.end == datetime(2026, 11, 24, 20, 50, tzinfo=UTC)
    assert first.telehealth_url == "https://video.simplepractice.com/appt-5001abcdef"
    assert (first.therapist.id, first.therapist.name, first.therapist.shown) == (
        "301",
        "Maya Chen",
        "Dr. Chen",
    )
    (alex,) = first.participants
    assert (alex.id, alex.name, alex.first_name, alex.email, alex.mobile, alex.timezone) == (
        "9001",
        "Alex Rivera",
        "Alex",
        "alex@example.org",
        "+1 617 555 0101",
        "America/Chicago",
    )
    assert (alex.sms_opt_in, alex.email_opt_in) == (True, True)

    group = by_id["sp-5002"].participants
    assert [p.id for p in group] == ["9002", "9003"]
    assert (group[1].email, group[1].sms_opt_in) == (None, False)
    assert by_id["sp-5003"].status == "canceled"
    assert (by_id["sp-5004"].format, by_id["sp-5004"].telehealth_url) == ("in_person", None)
    assert by_id["sp-5006"].participants[0].sms_opt_in is None


def test_therapynotes_style_flat_fields_cursor_paging_and_status_map(
    tmp_path: Path, client: httpx.Client
) -> None:
    config = make_config(tmp_path, fixture_toml("therapynotes.toml"))
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(url__startswith=f"{GATEWAY}/tn/appointments").mock(
            side_effect=[page("tn-page1.json"), page("tn-page2.json")]
        )
        listing = build(config, ENV, NOW, client=client).fetch(WINDOW)

    first, second = (call.request for call in route.calls)
    assert first.url.params["startDate"] == "2026-11-22T12:00:00Z"
    assert "cursor" not in first.url.params
    assert second.url.params["cursor"] == "c-2"  # page 1's query, plus the cursor
    assert second.url.params["endDate"] == "2026-12-23T12:00:00Z"
    assert first.headers["X-API-Key"] == "tn-test-key-42"
    assert "Authorization" not in first.headers

    assert listing.problems == []
    by_id = {a.id: a for a in listing.appointments}
    assert sorted(by_id) == ["TN-7001", "TN-7002", "TN-7003", "TN-7004", "TN-7005"]
    tn = by_id["TN-7001"]
    assert tn.status == "scheduled"
    assert tn.start == datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # 10:00 in New York (EST)
    assert tn.telehealth_url == "https://www.therapyportal.com/p/examplepractice/waiting-room/"
    assert (tn.therapist.id, tn.therapist.name) == ("C-12", "Jordan Blake")
    (casey,) = tn.participants
    assert (casey.id, casey.name, casey.first_name, casey.mobile, casey.email) == (
        "P-88",
        "Casey Nguyen",
        "Casey",
        "(617) 555-0107",
        "casey@example.org",
    )
    assert (casey.sms_opt_in, casey.email_opt_in) == (True, False)  # "Yes" / "No"
    assert by_id["TN-7002"].status == "canceled"
    assert by_id["TN-7002"].participants[0].sms_opt_in is True  # 1
    assert by_id["TN-7003"].status == "completed"
    assert by_id["TN-7004"].status == "no_show"  # "NO SHOW": status_map ignores case
    assert by_id["TN-7005"].format == "in_person"


def test_record_missing_start_is_skipped_with_a_problem(
    tmp_path: Path, client: httpx.Client
) -> None:
    source = mini_source(tmp_path, client=client)
    body = {"data": [record("a-1001"), record("a-1002", start=None), record("a-1003")]}
    with respx.mock() as mock:
        mock.get(f"{GATEWAY}/v1/appointments").respond(json=body)
        listing = source.fetch(WINDOW)

    assert [a.id for a in listing.appointments] == ["a-1001", "a-1003"]
    assert listing.skipped_ids == {"a-1002"}  # kept, so it never looks like a cancellation
    assert listing.complete
    (problem,) = listing.problems
    assert "rest gateway.example.org" in problem and "record #2 (page 1)" in problem
    assert "start is missing" in problem and "source.map.start = 'start'" in problem


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ({"id": None}, "id is missing"),  # no id: the listing can no longer prove a vanish
        ({"start": "24 Nov 2026 3pm"}, "not an ISO 8601 time"),
        ({"start": "2026-11-24T15:00:00"}, "has no UTC offset"),  # no source.timezone
        ({"status": "Rescheduled"}, "map it in [source.status_map]"),
        ({"status": {"code": "canceled"}}, "status is an object, not one value"),
        ({"client": {"name": "No Id"}}, "a client has no id"),
    ],
)
def test_bad_records_are_skipped_one_by_one(
    tmp_path: Path, client: httpx.Client, bad: dict[str, Any], expected: str
) -> None:
    status = 'status = "status"\n' if "status" in bad else ""  # map it only when tested
    source = build(make_config(tmp_path, MINI + status), ENV, NOW, client=client)
    body = {"data": [record("a-2001"), {**record("a-2002"), **bad}]}
    with respx.mock() as mock:
        mock.get(f"{GATEWAY}/v1/appointments").respond(json=body)
        listing = source.fetch(WINDOW)
    assert [a.id for a in listing.appointments] == ["a-2001"]
    assert len(listing.problems) == 1 and expected in listing.problems[0]
    assert listing.complete == ("id" not in bad)


def test_500_on_page_2_fails_the_whole_listing(tmp_path: Path, client: httpx.Client) -> None:
    config = make_config(tmp_path, fixture_toml("simplepractice.toml"))
    with respx.mock() as mock:
        mock.get(url__startswith=f"{GATEWAY}/sp/v1/appointments").mock(
            side_effect=[page("sp-page1.json"), httpx.Response(500, text="oops")]
        )
        with pytest.raises(SourceError) as caught:
            build(config, ENV, NOW, client=client).fetch(WINDOW)
    message = caught.value.message
    assert message.startswith("rest gateway.example.org: HTTP 500")
    assert "nothing was changed" in message and "page 2" in message
    assert caught.value.exit_code == 3


def test_401_names_the_token_and_where_it_comes_from(tmp_path: Path, client: httpx.Client) -> None:
    source = mini_source(tmp_path, client=client)
    with respx.mock() as mock:
        mock.get(f"{GATEWAY}/v1/appointments").respond(401, json={"error": "unauthorized"})
        with pytest.raises(SourceError) as caught:
            source.fetch(WINDOW)
    message = caught.value.message
    assert "rest" in message and "HTTP 401" in message and "token was refused" in message
    assert "$LINKCLI_REST_TOKEN" in message and TOKEN not in message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"data": {"id": "x"}}, "has a dict, not a list, at source.items = 'data'"),
        ({"items": []}, "has nothing at source.items = 'data'"),
        ("<html>", "did not return JSON"),
    ],
)
def test_a_page_that_is_not_a_listing_fails_it(
    tmp_path: Path, client: httpx.Client, body: Any, expected: str
) -> None:
    source = mini_source(tmp_path, client=client)
    response = (
        httpx.Response(200, text=body) if isinstance(body, str) else httpx.Response(200, json=body)
    )
    with respx.mock() as mock:
        mock.get(f"{GATEWAY}/v1/appointments").mock(return_value=response)
        with pytest.raises(SourceError, match="rest gateway.example.org") as caught:
            source.fetch(WINDOW)
    assert expected in caught.value.message


def test_timeout_fails_the_listing(tmp_path: Path, client: httpx.Client) -> None:
    source = mini_source(tmp_path, client=client)
    with respx.mock() as mock:
        mock.get(f"{GATEWAY}/v1/appointments").mock(side_effect=httpx.ReadTimeout("slow"))
        with pytest.raises(SourceError, match="timed out"):
            source.fetch(WINDOW)


def test_next_link_to_another_host_never_gets_the_token(
    tmp_path: Path, client: httpx.Client
) -> None:
    source = mini_source(tmp_path, 'next = "links.next"', client=client)
    body = {"data": [record("a-3001")], "links": {"next": "https://evil.example.net/p2"}}
    with respx.mock() as mock:
        mock.get(f"{GATEWAY}/v1/appointments").respond(json=body)
        with pytest.raises(SourceError, match=r"another host \(evil.example.net\)"):
            source.fetch(WINDOW)
        assert len(mock.calls) == 1


def test_a_next_link_that_loops_is_an_error_not_a_hang(
    tmp_path: Path, client: httpx.Client
) -> None:
    source = mini_source(tmp_path, 'next = "next"\ncursor_param = "after"', client=client)
    body = {"data": [], "next": "c-1"}
    with respx.mock() as mock:
        mock.get(f"{GATEWAY}/v1/appointments").respond(json=body)
        with pytest.raises(SourceError, match="links back to an earlier page"):
            source.fetch(WINDOW)
        assert len(mock.calls) == 2


def test_rate_limit_with_a_near_reset_waits_once_through_the_injected_sleep(
    tmp_path: Path, client: httpx.Client
) -> None:
    waits: list[float] = []
    source = mini_source(tmp_path, sleep=waits.append, client=client)
    with respx.mock() as mock:
        mock.get(f"{GATEWAY}/v1/appointments").mock(
            side_effect=[
                httpx.Response(429, headers={"Retry-After": "2"}),
                httpx.Response(200, json={"data": [record("a-4001")]}),
            ]
        )
        listing = source.fetch(WINDOW)
    assert waits == [2.0] and [a.id for a in listing.appointments] == ["a-4001"]


def test_auth_none_sends_no_token_and_needs_none(tmp_path: Path, client: httpx.Client) -> None:
    config = make_config(tmp_path, MINI.replace("[source.map]", 'auth = "none"\n[source.map]'))
    source = build(config, {}, NOW, client=client)
    with respx.mock() as mock:
        route = mock.get(f"{GATEWAY}/v1/appointments").respond(json={"data": []})
        source.fetch(WINDOW)
    assert "Authorization" not in route.calls[0].request.headers


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ('link = "url"', 'telehealth_link = "url"', "source.map.telehealth_link"),
        ('start = "start"\n', "", "source.map.start"),
        ('id = "id"\n', "", "source.map.id"),
        ('participant_id = "client.id"\n', "", "source.map.participant_id"),
        ('therapist_id = "therapist"\n', "", "source.map.therapist_id"),
        ('start = "start"', 'start = "a..b"', "source.map.start"),
        ('start = "start"', 'start = ["a", "b"]', "source.map.start"),
        ('items = "data"', 'item = "data"', "source.item"),
        ('items = "data"', 'cursor_param = "c"', "source.cursor_param"),
        ('"/v1/appointments"', '"https://other.example.org/x"', "source.path"),
        ('items = "data"', 'auth = "basic"', "source.auth"),
        ('items = "data"', 'auth = "header"', "source.auth_header"),
        ('items = "data"', 'timezone = "Mars/Base"', "source.timezone"),
        ('items = "data"', 'params = { from = "x" }', "source.params.from"),
        (
            'link = "url"',
            'link = "url"\n[source.status_map]\nDone = "finished"',
            "source.status_map.Done",
        ),
        ("[source.map]", "[source.other]", "source.map"),  # also: source.other
    ],
)
def test_bad_mapping_is_a_config_error_naming_the_key(
    tmp_path: Path, client: httpx.Client, old: str, new: str, named: str
) -> None:
    assert old in MINI
    with pytest.raises(ConfigError) as caught:  # from the config reader, or from build
        build(make_config(tmp_path, MINI.replace(old, new)), ENV, NOW, client=client)
    problems = caught.value.problems
    named_at = re.compile(rf"{re.escape(named)}( \(line \d+\))?: ")
    assert any(named_at.match(problem) for problem in problems), problems
    assert str(tmp_path / "config.toml") in caught.value.message
    assert problems[0] in caught.value.message
    assert caught.value.exit_code == 2


def test_a_named_token_variable_that_is_unset_is_a_config_error(
    tmp_path: Path, client: httpx.Client
) -> None:
    config = make_config(
        tmp_path, MINI.replace("[source.map]", 'token_env = "PARTNER_TOKEN"\n[source.map]')
    )
    with pytest.raises(ConfigError, match="PARTNER_TOKEN is not set"):
        build(config, ENV, NOW, client=client)
    with pytest.raises(ConfigError, match="LINKCLI_REST_TOKEN is not set"):
        build(make_config(tmp_path, MINI), {}, NOW, client=client)


def test_config_refuses_plain_http_base_url_except_loopback(
    tmp_path: Path, client: httpx.Client
) -> None:
    with pytest.raises(ConfigError, match="source.base_url"):
        make_config(tmp_path, MINI.replace("https://gateway", "http://gateway"))
    local = make_config(tmp_path, MINI.replace(GATEWAY, "http://127.0.0.1:8099"))
    assert build(local, ENV, NOW, client=client).url("/x") == "http://127.0.0.1:8099/x"


def test_lookup_walks_dotted_paths_and_list_indexes() -> None:
    data = {"clients": [{"email": "a@example.org"}, {"email": None}], "n": {"0": "zero"}}
    assert lookup(data, ["clients", "0", "email"]) == "a@example.org"
    assert lookup(data, ["clients", "1", "email"]) is None
    assert lookup(data, ["clients", "5", "email"]) is None
    assert lookup(data, ["clients", "email"]) is None  # a name into a list: absent
    assert lookup(data, ["n", "0"]) == "zero"
    assert lookup(data, []) is data


# ---- end to end: the CLI, a real store, outbox channels -------------------------------

E2E_SOURCE = """
[source]
kind = "rest"
base_url = "https://gateway.example.org"
path = "/v1/appointments"
items = "data"
next = "links.next"

[source.map]
id = "id"
status = "state"
start = "starts_at"
end = "ends_at"
link = "video.join_url"
therapist_id = "provider.id"
therapist_name = "provider.name"
therapist_display_name = "provider.title"
participant_id = "patient.id"
name = "patient.name"
first_name = "patient.first_name"
email = "patient.email"
mobile = "patient.cell"
sms_opt_in = "patient.texts_ok"

[source.status_map]
booked = "scheduled"
"""
E2E_LINK = "https://us02web.zoom.us/j/85512345678?pwd=AbCdEf123"
E2E_BODY = {
    "data": [
        {
            "id": "gw-1001",
            "state": "booked",
            "starts_at": "2026-11-24T15:00:00-05:00",
            "ends_at": "2026-11-24T15:50:00-05:00",
            "video": {"join_url": E2E_LINK},
            "provider": {"id": "th-1", "name": "Maya Chen", "title": "Dr. Chen"},
            "patient": {
                "id": "cl-1",
                "name": "Alex Rivera",
                "first_name": "Alex",
                "email": "alex@example.org",
                "cell": "+1 617 555 0101",
                "texts_ok": True,
            },
        }
    ],
    "links": {"next": None},
}


def test_cli_sync_and_preview_end_to_end(tmp_path: Path, client: httpx.Client) -> None:
    seams = Seams(http=client)  # only the CA-bundle load is saved; the path is real
    config = tmp_path / "config.toml"
    config.write_text(HEAD + E2E_SOURCE, encoding="utf-8")
    env = {
        "LINKCLI_CONFIG": str(config),
        "LINKCLI_NOW": "2026-11-23T09:00:00-05:00",
        "LINKCLI_REST_TOKEN": TOKEN,
    }
    runner = CliRunner()
    with respx.mock() as mock:
        route = mock.get(url__startswith=f"{GATEWAY}/v1/appointments").respond(json=E2E_BODY)
        synced = runner.invoke(app, ["sync"], env=env, obj=seams)
        assert synced.exit_code == 0, synced.output
        assert synced.stderr == ""
        assert route.call_count == 1  # one page, one request

        shown = runner.invoke(app, ["preview", "--json"], env=env, obj=seams)
        assert shown.exit_code == 0, shown.output
        items = json.loads(shown.stdout)
        (sms,) = [i for i in items if i["step"] == "reminder-24h" and i["channel"] == "sms"]
        assert sms["appointment"] == "gw-1001" and sms["participant"] == "cl-1"
        assert sms["due"].startswith("2026-11-23T20:00:00")  # start − 24 h, in UTC
        assert sms["body"].startswith("Reminder: Dr. Chen session tomorrow at 3:00")
        assert f"Join here: {E2E_LINK}" in sms["body"]
        assert sms["recipient"] == "+1******0101"  # masked, never whole
        assert "0101" in sms["recipient"] and "6175550101" not in shown.stdout

        route.respond(500, text="gateway down")
        failed = runner.invoke(app, ["sync"], env=env, obj=seams)
    assert failed.exit_code == 3
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("linkcli: error: rest gateway.example.org")
    assert "HTTP 500" in lines[0] and TOKEN not in failed.output


def test_100_appointments_at_50_a_page_take_two_requests(
    tmp_path: Path, client: httpx.Client
) -> None:
    """The figure in the docs: one GET per page, nothing per record."""
    records = [
        record(f"a-{5000 + n}", start=f"2026-11-{24 + n % 5}T15:00:00-05:00") for n in range(100)
    ]

    def answer(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params.get("offset", "0"))
        more = offset + 50 < len(records)
        return httpx.Response(
            200,
            json={
                "data": records[offset : offset + 50],
                "meta": {"next": offset + 50 if more else None},
            },
        )

    source = mini_source(
        tmp_path,
        'next = "meta.next"\ncursor_param = "offset"\nparams = { limit = 50 }',
        client=client,
    )
    with respx.mock() as mock:
        mock.get(f"{GATEWAY}/v1/appointments").mock(side_effect=answer)
        listing = source.fetch(WINDOW)
    assert len(listing.appointments) == 100 and source.requests == 2


def test_no_path_reads_base_url_itself_keeping_its_query(
    tmp_path: Path, client: httpx.Client
) -> None:
    toml = (
        MINI.replace('path = "/v1/appointments"\n', "")
        .replace(f'"{GATEWAY}"', f'"{GATEWAY}/flows/appts?code=view-1"')
        .replace('items = "data"', 'items = ""\nstart_param = ""\nend_param = "before"')
    )
    source = build(make_config(tmp_path, toml), ENV, NOW, client=client)
    with respx.mock() as mock:
        route = mock.get(url__startswith=f"{GATEWAY}/flows/appts").respond(json=[record("a-6001")])
        listing = source.fetch(WINDOW)
    assert str(route.calls[0].request.url) == (
        f"{GATEWAY}/flows/appts?code=view-1&before=2026-12-23T12%3A00%3A00Z"
    )
    assert [a.id for a in listing.appointments] == ["a-6001"]
