"""The fhir source against a FHIR R4 server answered by respx (never the network).

Fixtures in tests/fixtures/fhir are a three-page searchset (10 matches, HAPI-style absolute
next links) plus an OperationOutcome. All people, numbers and links are synthetic.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from typer.testing import CliRunner

from linkcli.cli import app
from linkcli.config import Config, TherapistConfig, load_config
from linkcli.context import Seams
from linkcli.errors import ConfigError, ExitCode, SourceError
from linkcli.sources import open_source
from linkcli.sources.base import Window
from linkcli.sources.fhir import (
    FhirSource,
    appointment_from_fhir,
    build,
    pick_mobile,
    virtual_service_link,
)
from tests.conftest import OUTBOX_CHANNELS
from tests.conftest import write_config as conftest_write_config

FIXTURES = Path(__file__).parent / "fixtures" / "fhir"
BASE = "https://fhir.example.org/r4"
TOKEN = "fhir-test-token-7c2e"  # a fake; asserted never to leak into error text
NOW = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)  # 15:00 in Boston
WINDOW = Window(NOW - timedelta(days=1), NOW + timedelta(days=30))
FALLBACK = "https://doxy.me/example-practice"
VS_URL = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Appointment.virtualService"


def page(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def write_config(tmp_path: Path, source_extra: str = "", tail: str = "") -> Path:
    return conftest_write_config(
        tmp_path,
        f"""
[practice]
name = "Harbor Counseling"
timezone = "America/New_York"

[store]
path = "linkcli.db"

[source]
kind = "fhir"
base_url = "{BASE}"
{source_extra}
{OUTBOX_CHANNELS}
[therapists."prac-okafor"]
name = "Daniel Okafor"
display_name = "Dr. Okafor"
{tail}
""",
    )


def config_for(tmp_path: Path, source_extra: str = "", tail: str = "") -> Config:
    return load_config(write_config(tmp_path, source_extra, tail), {})


class FakeFhir:
    """A FHIR server: the search on /r4/Appointment, later pages by _getpagesoffset."""

    def __init__(self, first: Any, pages: dict[str, Any] | None = None) -> None:
        self.first = first
        self.pages = pages or {}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/r4/Appointment":
            answer = self.first
        else:
            answer = self.pages[request.url.params.get("_getpagesoffset", "")]
        if isinstance(answer, httpx.Response):
            return answer
        return httpx.Response(200, json=answer, headers={"Content-Type": "application/fhir+json"})


@pytest.fixture
def fhir_mock() -> Iterator[Callable[..., FakeFhir]]:
    with respx.mock(assert_all_called=False) as router:

        def install(first: Any, pages: dict[str, Any] | None = None) -> FakeFhir:
            fake = FakeFhir(first, pages)
            router.route(host="fhir.example.org").mock(side_effect=fake)
            return fake

        yield install


def three_pages() -> tuple[dict[str, Any], dict[str, Any]]:
    return page("page1.json"), {"3": page("page2.json"), "7": page("page3.json")}


# One client for every test: building an httpx client loads the CA bundle (~0.1 s), and
# respx answers at the transport, whichever client sends.
_CLIENT = httpx.Client(timeout=5.0, follow_redirects=False)


def source(tmp_path: Path, extra: str = "", **kwargs: Any) -> FhirSource:
    config = config_for(tmp_path, extra)
    return build(config, {"FHIR_TOKEN": TOKEN}, NOW, client=_CLIENT, **kwargs)


# --- a whole listing ---------------------------------------------------------------------


def test_three_pages_are_read_and_mapped(tmp_path: Path, fhir_mock: Any) -> None:
    first, rest = three_pages()
    fake = fhir_mock(first, rest)
    src = source(tmp_path, f'fallback_link = "{FALLBACK}"')

    listing = src.fetch(WINDOW)

    assert len(fake.requests) == src.requests == 3
    search = fake.requests[0]
    query = parse_qs(search.url.query.decode())
    assert query == {
        "date": ["ge2026-11-22T20:00:00Z", "lt2026-12-23T20:00:00Z"],
        "_include": ["Appointment:patient", "Appointment:practitioner"],
        "_count": ["100"],
    }
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in fake.requests)
    assert search.headers["Accept"] == "application/fhir+json"
    assert fake.requests[1].url.params["_getpagesoffset"] == "3"

    by_id = {a.id: a for a in listing.appointments}
    assert {aid: a.status for aid, a in by_id.items()} == {
        "apt-1001": "scheduled",
        "apt-1002": "scheduled",
        "apt-1003": "canceled",  # cancelled
        "apt-1004": "no_show",  # noshow
        "apt-1005": "canceled",  # entered-in-error
        "apt-1006": "scheduled",
        "apt-1007": "completed",  # fulfilled
        "apt-1008": "canceled",  # waitlist: no confirmed time, so no link messages
        "apt-1009": "scheduled",  # arrived
    }
    # The booked Appointment without a start is reported and skipped, by id, so it can
    # never look like a cancellation; the rest of the listing is used.
    assert listing.skipped_ids == {"apt-1010"}
    assert listing.complete
    assert listing.problems == [
        "fhir: Appointment skipped: record 'apt-1010': start is missing or not a string"
    ]
    first_appt = by_id["apt-1001"]
    assert first_appt.start == datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
    assert first_appt.end == datetime(2026, 11, 24, 20, 50, tzinfo=UTC)
    assert first_appt.format == "telehealth"
    assert first_appt.telehealth_url == "https://us02web.zoom.us/j/85512345678?pwd=AbCdEf123"
    assert first_appt.updated_at == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def test_patient_contacts_names_and_timezone(tmp_path: Path, fhir_mock: Any) -> None:
    fhir_mock(*three_pages())
    by_id = {a.id: a for a in source(tmp_path).fetch(WINDOW).appointments}

    (rivera,) = by_id["apt-1001"].participants
    assert rivera.id == "pat-rivera"
    assert rivera.name == "Alejandro J. Rivera"  # the official name
    assert rivera.first_name == "Alex"  # the usual name: what the client goes by
    # home (rank 1) is never texted, the old number and the mobile whose period ended are
    # skipped, and of the two current mobiles rank 2 beats rank 3.
    assert rivera.mobile == "+1 617 555 0112"
    assert rivera.email == "alex.rivera@example.org"
    assert rivera.timezone == "America/Chicago"

    (nguyen,) = by_id["apt-1002"].participants
    assert nguyen.mobile is None  # no phone at all: the email-only sequence
    assert nguyen.email == "sam.nguyen@example.org"
    assert nguyen.timezone is None

    # A group session: the declined participant gets nothing; system=sms is a mobile;
    # the email with rank 1 wins over rank 2.
    (lee,) = by_id["apt-1006"].participants
    assert (lee.id, lee.name, lee.first_name) == ("pat-lee", "Jordan Lee", "Jordan")
    assert lee.mobile == "+1 617 555 0120"
    assert lee.email == "jlee@example.org"
    assert by_id["apt-1006"].telehealth_url == (
        "https://us02web.zoom.us/j/85598765432?pwd=GrOuP456"  # address as a ContactPoint
    )


def test_therapist_from_practitioner_then_config_then_id(tmp_path: Path, fhir_mock: Any) -> None:
    fhir_mock(*three_pages())
    by_id = {a.id: a for a in source(tmp_path).fetch(WINDOW).appointments}

    assert by_id["apt-1001"].therapist.id == "prac-chen"
    assert by_id["apt-1001"].therapist.name == "Maya Chen"  # the included Practitioner
    okafor = by_id["apt-1002"].therapist
    assert (okafor.id, okafor.name, okafor.display_name) == (
        "prac-okafor",
        "Daniel Okafor",
        "Dr. Okafor",
    )  # not included: the config's names
    # Neither included nor configured: the reference's display, else the id.
    assert by_id["apt-1009"].therapist.name == "Luz Ibarra"


def test_missing_link_uses_fallback_link_only_when_configured(
    tmp_path: Path, fhir_mock: Any
) -> None:
    fhir_mock(*three_pages())
    with_fallback = source(tmp_path, f'fallback_link = "{FALLBACK}"').fetch(WINDOW)
    assert {a.id: a for a in with_fallback.appointments}["apt-1002"].telehealth_url == FALLBACK

    without = source(tmp_path).fetch(WINDOW)
    apt = {a.id: a for a in without.appointments}["apt-1002"]
    # None: the core then uses the therapist's fixed link, or flags the session.
    assert apt.telehealth_url is None
    assert apt.format == "telehealth"


def test_a_therapists_own_link_beats_the_practice_fallback(tmp_path: Path) -> None:
    page1 = page("page1.json")
    included = {
        (e["resource"]["resourceType"], e["resource"]["id"]): e["resource"]
        for e in page1["entry"][3:]
    }
    room = "https://doxy.me/dr-okafor"
    therapists = {"prac-okafor": TherapistConfig(id="prac-okafor", link=room)}
    apt = appointment_from_fhir(page1["entry"][1]["resource"], included, therapists, FALLBACK, NOW)
    assert apt.telehealth_url is None  # so compose uses the therapist's room


def test_total_larger_than_what_was_read_is_an_incomplete_listing(
    tmp_path: Path, fhir_mock: Any
) -> None:
    first, rest = three_pages()
    first["total"] = 12  # the schedule changed while we paged: two records slipped by
    fhir_mock(first, rest)
    with pytest.raises(SourceError, match="announced 12 appointments but only 10"):
        source(tmp_path).fetch(WINDOW)


def test_appointments_outside_the_window_are_left_out(tmp_path: Path, fhir_mock: Any) -> None:
    first, rest = three_pages()
    fhir_mock(first, rest)
    narrow = Window(NOW, NOW + timedelta(days=2))
    ids = {a.id for a in source(tmp_path).fetch(narrow).appointments}
    assert ids == {"apt-1001", "apt-1002", "apt-1009"}


# --- failed reads ------------------------------------------------------------------------


def test_401_is_a_failed_read_naming_the_token(tmp_path: Path, fhir_mock: Any) -> None:
    fhir_mock(
        httpx.Response(
            401,
            json={
                "resourceType": "OperationOutcome",
                "issue": [
                    {"severity": "error", "code": "login", "diagnostics": "Invalid access token"}
                ],
            },
        )
    )
    with pytest.raises(SourceError) as caught:
        source(tmp_path).fetch(WINDOW)
    message = caught.value.message
    assert message.startswith("fhir: HTTP 401 from /r4/Appointment: the token was refused")
    assert "$FHIR_TOKEN" in message
    assert TOKEN not in message
    assert caught.value.exit_code == ExitCode.SOURCE


def test_500_on_page_two_fails_the_whole_read(tmp_path: Path, fhir_mock: Any) -> None:
    first, rest = three_pages()
    rest["3"] = httpx.Response(500, text="upstream down")
    fake = fhir_mock(first, rest)
    with pytest.raises(SourceError, match=r"^fhir: HTTP 500 from /r4; nothing was changed$"):
        source(tmp_path).fetch(WINDOW)
    assert len(fake.requests) == 2


def test_error_status_with_operation_outcome_shows_the_servers_reason(
    tmp_path: Path, fhir_mock: Any
) -> None:
    fhir_mock(httpx.Response(400, json=page("operation-outcome.json")))
    with pytest.raises(
        SourceError,
        match=r"HTTP 400 from /r4/Appointment \(error: Search "
        r"parameter 'date' requires",
    ):
        source(tmp_path).fetch(WINDOW)


def test_operation_outcome_body_is_a_failed_read(tmp_path: Path, fhir_mock: Any) -> None:
    fhir_mock(page("operation-outcome.json"))
    with pytest.raises(
        SourceError,
        match=r"^fhir: the server answered with an "
        r"OperationOutcome \(error: Search parameter 'date'",
    ):
        source(tmp_path).fetch(WINDOW)


def test_error_outcome_entry_inside_a_bundle_is_a_failed_read(
    tmp_path: Path, fhir_mock: Any
) -> None:
    first, rest = three_pages()
    rest["7"]["entry"][-1]["resource"]["issue"][0]["severity"] = "error"
    fhir_mock(first, rest)
    with pytest.raises(SourceError, match="the search reported error: Practitioner"):
        source(tmp_path).fetch(WINDOW)


def test_a_body_that_is_not_a_bundle_is_a_failed_read(tmp_path: Path, fhir_mock: Any) -> None:
    fhir_mock({"resourceType": "Patient", "id": "pat-rivera"})
    with pytest.raises(SourceError, match="expected a searchset Bundle, found a Patient"):
        source(tmp_path).fetch(WINDOW)


def test_next_link_to_another_host_is_refused(tmp_path: Path, fhir_mock: Any) -> None:
    first, rest = three_pages()
    first["link"][-1]["url"] = "https://fhir.example.net/r4?_getpages=abc&_getpagesoffset=3"
    fake = fhir_mock(first, rest)
    with pytest.raises(
        SourceError,
        match="next link points to fhir.example.net, not "
        "fhir.example.org; refused so the token stays",
    ):
        source(tmp_path).fetch(WINDOW)
    assert len(fake.requests) == 1  # the token never left for the other host


def test_next_link_that_repeats_is_refused(tmp_path: Path, fhir_mock: Any) -> None:
    first, rest = three_pages()
    rest["3"]["link"][-1]["url"] = first["link"][-1]["url"]  # page 2 points at itself
    fhir_mock(first, rest)
    with pytest.raises(SourceError, match="next link repeats a page"):
        source(tmp_path).fetch(WINDOW)


def test_rate_limit_with_a_near_reset_is_waited_out_once(tmp_path: Path, fhir_mock: Any) -> None:
    first, rest = three_pages()
    answers = iter([httpx.Response(429, headers={"Retry-After": "2"}), first])
    waits: list[float] = []

    def first_page(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        return answer if isinstance(answer, httpx.Response) else httpx.Response(200, json=answer)

    with respx.mock() as router:
        router.get(f"{BASE}/Appointment").mock(side_effect=first_page)
        router.get(BASE).mock(side_effect=FakeFhir(first, rest))
        listing = source(tmp_path, sleep=waits.append).fetch(WINDOW)
    assert waits == [2.0]
    assert len(listing.appointments) == 9


# --- the cost of a sync ------------------------------------------------------------------


def test_one_request_reads_100_appointments(tmp_path: Path, fhir_mock: Any) -> None:
    template = page("page1.json")
    match, *includes = (template["entry"][0], *template["entry"][3:])
    entries = []
    for n in range(100):
        entry = copy.deepcopy(match)
        entry["resource"]["id"] = f"apt-{2000 + n}"
        entry["resource"]["start"] = (NOW + timedelta(hours=n + 1)).isoformat()
        entry["resource"]["end"] = (NOW + timedelta(hours=n + 1, minutes=50)).isoformat()
        entries.append(entry)
    bundle = {
        **template,
        "total": 100,
        "entry": [*entries, *includes],
        "link": template["link"][:1],
    }  # no next link: everything fit one page
    fake = fhir_mock(bundle)
    src = source(tmp_path)
    listing = src.fetch(WINDOW)
    assert len(listing.appointments) == 100
    assert src.requests == len(fake.requests) == 1


# --- config ------------------------------------------------------------------------------


def test_build_is_reached_through_open_source(tmp_path: Path) -> None:
    config = config_for(tmp_path, 'token_env = "EHR_TOKEN"\ntimeout = 5')
    built = open_source(config, {"EHR_TOKEN": TOKEN}, NOW)
    assert isinstance(built, FhirSource)
    assert built.base_url == BASE and built.token_env == "EHR_TOKEN"
    assert built.client.timeout.read == 5.0
    built.close()


@pytest.mark.parametrize(
    ("extra", "env", "expected"),
    [
        ("", {}, "environment variable FHIR_TOKEN is not set"),
        (
            'fallback_link = "http://doxy.me/room"',
            {"FHIR_TOKEN": TOKEN},
            "source.fallback_link (line 12): 'http://doxy.me/room' must be an https URL",
        ),
        ("timeout = 0", {"FHIR_TOKEN": TOKEN}, "source.timeout (line 12): must be a number"),
        ('path = "x.json"', {"FHIR_TOKEN": TOKEN}, "source.path (line 12): unknown key for kind"),
    ],
)
def test_config_problems_are_config_errors(
    tmp_path: Path, extra: str, env: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(expected)) as caught:
        build(config_for(tmp_path, extra), env, NOW, client=_CLIENT)
    assert caught.value.exit_code == ExitCode.USAGE


def test_missing_base_url_is_a_config_error(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    path.write_text(path.read_text().replace(f'base_url = "{BASE}"', ""))
    with pytest.raises(ConfigError, match=r"source.base_url \(line \d+\): missing"):
        build(load_config(path, {}), {"FHIR_TOKEN": TOKEN}, NOW, client=_CLIENT)


# --- pieces ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extension", "expected"),
    [
        # address nested one level further (address -> addressUrl), as some IGs do
        (
            [
                {
                    "url": VS_URL,
                    "extension": [
                        {
                            "url": "address",
                            "extension": [
                                {
                                    "url": "addressUrl",
                                    "valueUrl": "https://meet.google.com/abc-defg-hij",
                                }
                            ],
                        }
                    ],
                }
            ],
            "https://meet.google.com/abc-defg-hij",
        ),
        # a dial-in string first, the https link second: the link wins
        (
            [
                {
                    "url": VS_URL,
                    "extension": [
                        {"url": "address", "valueString": "tel:+16175550199"},
                        {"url": "address", "valueString": "https://doxy.me/chen"},
                    ],
                }
            ],
            "https://doxy.me/chen",
        ),
        # only a session key, no address: no link
        ([{"url": VS_URL, "extension": [{"url": "sessionKey", "valueString": "123 456"}]}], None),
        # another extension's URL is not ours
        (
            [
                {
                    "url": "http://example.org/fhir/StructureDefinition/video",
                    "valueUrl": "https://zoom.us/j/1",
                }
            ],
            None,
        ),
    ],
)
def test_virtual_service_link_shapes(extension: list[Any], expected: str | None) -> None:
    assert virtual_service_link({"extension": extension}) == expected


def test_r5_virtual_service_element_is_read_too() -> None:
    resource = {
        "virtualService": [
            {"channelType": {"code": "zoom"}, "addressUrl": "https://us02web.zoom.us/j/855"}
        ]
    }
    assert virtual_service_link(resource) == "https://us02web.zoom.us/j/855"


def test_mobile_choice_honours_period_and_unspecified_use() -> None:
    telecom = [
        {"system": "phone", "value": "+1 617 555 0140", "use": "work", "rank": 1},
        {"system": "phone", "value": "+1 617 555 0141"},  # use unknown: maybe a mobile
        {
            "system": "phone",
            "value": "+1 617 555 0142",
            "use": "mobile",
            "period": {"start": "2027-01-01"},
        },  # not yet in use
        {
            "system": "phone",
            "value": "+1 617 555 0143",
            "use": "mobile",
            "period": {"end": "2026-11"},
        },  # ends this month: still current
    ]
    assert pick_mobile(telecom, NOW) == "+1 617 555 0143"
    assert pick_mobile(telecom[:3], NOW) == "+1 617 555 0141"
    assert pick_mobile(telecom[:1], NOW) is None


def test_appointment_without_practitioner_is_a_record_error() -> None:
    resource = {
        "resourceType": "Appointment",
        "id": "apt-9",
        "status": "booked",
        "start": "2026-11-24T15:00:00-05:00",
        "participant": [{"actor": {"reference": "Patient/pat-x"}, "status": "accepted"}],
    }
    with pytest.raises(ValueError, match="no Practitioner participant"):
        appointment_from_fhir(resource, {}, {}, None, NOW)


# --- end to end --------------------------------------------------------------------------


def test_cli_sync_then_preview_and_401(tmp_path: Path, fhir_mock: Any) -> None:
    # The real build path, handed the shared client through the run context's seam.
    seams = Seams(http=_CLIENT)
    config = write_config(tmp_path, tail='\n[therapists."prac-chen"]\ndisplay_name = "Dr. Chen"')
    env = {
        "FHIR_TOKEN": TOKEN,
        "LINKCLI_NOW": "2026-11-23T15:00:00-05:00",
        "LINKCLI_CONFIG": str(config),
    }
    runner = CliRunner()
    first, rest = three_pages()
    fhir_mock(first, rest)

    synced = runner.invoke(app, ["sync"], env=env, obj=seams)
    assert synced.exit_code == 0, synced.output
    # The one skipped record is reported on stderr; nothing else is said.
    assert synced.stderr.strip().splitlines() == [
        "linkcli: warning: fhir: Appointment skipped: record 'apt-1010': start is missing "
        "or not a string"
    ]

    shown = runner.invoke(app, ["preview", "--json", "--days", "2"], env=env, obj=seams)
    assert shown.exit_code == 0, shown.output
    items = json.loads(shown.stdout)
    reminder = next(
        i
        for i in items
        if i["appointment"] == "apt-1001" and i["step"] == "reminder-24h" and i["channel"] == "sms"
    )
    assert reminder["participant"] == "pat-rivera"
    assert reminder["recipient"] == "+1******0112"  # the ranked mobile, masked
    assert "https://us02web.zoom.us/j/85512345678?pwd=AbCdEf123" in reminder["body"]
    assert "Dr. Chen" in reminder["body"]
    assert "0112" not in shown.stdout.replace("+1******0112", "")

    fhir_mock(httpx.Response(401))
    refused = runner.invoke(app, ["sync"], env=env, obj=seams)
    assert refused.exit_code == ExitCode.SOURCE
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        "linkcli: error: fhir: HTTP 401 from /r4/Appointment: the token was refused"
    )
    assert TOKEN not in refused.stderr
