"""Real shapes: what practices' systems actually send, read through the CLI.

Each fixture in tests/fixtures/real-shapes/ reproduces the shape of a named exporter or a
vendor's published example (see its README.md). Each test drives `linkcli sync` and
`linkcli preview` in-process and checks what a practice needs: the right sessions, the
right UTC instants for the 24 h and 30 min texts, the right client and number, the right
link, and a silent sync (no stderr) where nothing is wrong. HTTP sources are answered by
respx from the fixture files; nothing leaves the machine. People are synthetic.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from typer.testing import CliRunner

from linkcli.cli import app
from linkcli.config import load_config
from linkcli.core.links import LinkPolicy
from linkcli.core.zones import resolve_tzid
from linkcli.sources import ics
from linkcli.sources.base import Window
from linkcli.sources.fhir import appointment_from_fhir
from tests.conftest import OUTBOX_CHANNELS, write_config

SHAPES = Path(__file__).parent / "fixtures" / "real-shapes"
NOW = "2026-10-27T12:00:00Z"  # the window (−1 d … +30 d) spans the US and EU DST ends

# Every client the fixtures name, with a 555-01xx number whose last four digits identify
# them in the masked recipient (+1******01xx).
CONTACTS = """\
client,name,email,mobile,channels,timezone
cl-alex,Alex Rivera,alex@example.org,+1 617 555 0101,both,
cl-sam,Sam Patel,sam@example.org,+1 617 555 0102,both,
cl-jordan,Jordan Lee,jordan@example.org,+1 617 555 0103,both,
cl-riley,Riley Brooks,riley@example.org,+1 617 555 0104,both,
cl-casey,Casey Morgan,casey@example.org,+1 617 555 0105,both,
cl-morgan,Morgan Diaz,morgan@example.org,+1 617 555 0106,both,
cl-taylor,Taylor Quinn,taylor@example.org,+1 617 555 0107,both,
cl-jamie,Jamie Fox,jamie@example.org,+1 617 555 0108,both,
cl-drew,Drew Ellis,drew@example.org,+1 617 555 0109,both,
"""


@dataclass
class Run:
    """One practice folder driven through the CLI at a fixed instant."""

    root: Path
    now: str = NOW
    env: dict[str, str] = field(default_factory=dict)  # the source's secrets

    def cli(self, *args: str) -> Any:
        env = {"LINKCLI_NOW": self.now, "LINKCLI_CONFIG": str(self.root / "config.toml")}
        return CliRunner().invoke(app, list(args), env={**env, **self.env})

    def sync(self) -> Any:
        result = self.cli("sync")
        assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
        return result

    def sessions(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Planned texts: {appointment: {participant: {step: due, "to": ..., "bodies"}}}."""
        shown = self.cli("preview", "--json", "--days", "31")
        assert shown.exit_code == 0, shown.stderr
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for item in json.loads(shown.stdout):
            if item["channel"] != "sms":
                continue
            people = out.setdefault(item["appointment"], {})
            entry = people.setdefault(item["participant"], {"bodies": []})
            entry[item["step"]] = item["due"]
            entry["to"] = item["recipient"]
            entry["bodies"].append(item["body"])
        return out

    def status(self) -> dict[str, Any]:
        return json.loads(self.cli("status", "--json").stdout)


def practice(tmp_path: Path, source: str, zone: str = "America/New_York", extra: str = "") -> Run:
    (tmp_path / "contacts.csv").write_text(CONTACTS)
    write_config(
        tmp_path,
        f"""\
        [practice]
        name = "Riverside Therapy"
        timezone = "{zone}"
        country = "US"
        """,
        source,
        OUTBOX_CHANNELS,
        '\n[contacts]\npath = "contacts.csv"\n',
        extra,
    )
    return Run(tmp_path)


def feed(tmp_path: Path, name: str, kind: str = "ics", **kw: Any) -> Run:
    shutil.copy(SHAPES / name, tmp_path / "feed.ics")
    source = f"""
        [source]
        kind = "{kind}"
        feeds = [{{ therapist = "th-1", url = "feed.ics" }}]

        [therapists."th-1"]
        name = "Maya Chen"
        display_name = "Dr. Chen"
        """
    return practice(tmp_path, source, **kw)


def texts_at(start: str) -> dict[str, str]:
    """The UTC due instants of the 24 h and 30 min texts of a session starting at `start`."""
    begin = datetime.fromisoformat(start)
    return {
        "reminder-24h": (begin - timedelta(hours=24)).isoformat(),
        "final-30m": (begin - timedelta(minutes=30)).isoformat(),
    }


def check(
    sessions: dict[str, dict[str, dict[str, Any]]],
    expected: dict[str, tuple[str, str, str] | list[tuple[str, str, str]]],
) -> None:
    """Exactly the expected sessions and clients, each with the two texts at the right
    instants, to the client's own number, carrying the right link."""
    assert set(sessions) == set(expected)
    for aid, wanted in expected.items():
        rows = wanted if isinstance(wanted, list) else [wanted]
        assert set(sessions[aid]) == {client for _s, client, _l in rows}, aid
        for start, client, link in rows:
            got = sessions[aid][client]
            assert {k: got.get(k) for k in ("reminder-24h", "final-30m")} == texts_at(start), aid
            assert got["to"] == f"+1******{DIGITS[client]}", (aid, client)
            assert all(link in body for body in got["bodies"]), (aid, got["bodies"])


# A client's number ends in these digits, whether the source names them by the contacts
# directory's key, their email (Calendly, Zoom registrants) or a FHIR Patient id.
DIGITS = {
    key: line.split(",")[3][-4:]
    for line in CONTACTS.splitlines()[1:]
    for key in (line.split(",")[0], line.split(",")[2])
} | {"example": "0101"}


# --- calendar feeds ------------------------------------------------------------------------

TEAMS = (
    "https://teams.microsoft.com/l/meetup-join/19%3ameeting_OWE3ZjU2YTctNWQ0Ni00NzI1LWI5Z"
    "DEtN2QxYTlhZTk0NGU1%40thread.v2/0?context=%7b%22Tid%22%3a%2200000000-0000-0000-0000-"
    "000000000000%22%7d"
)
OUTLOOK_SERIES = (
    "040000008200E00074C5B7101A82E00800000000D0A1C3F4E95ADC010000000000000000100000003B2F8E0B"
    "6C8D4F47A0E3D1C6B9F2A7E1"
)
OUTLOOK_SAM = (
    "040000008200E00074C5B7101A82E00800000000A9E4B7C2D05BDC01000000000000000010000000C5A1E2F3"
    "D4B6C7A8E9F0A1B2C3D4E5F6"
)


def test_outlook_2016_windows_zones_with_vtimezone(tmp_path: Path) -> None:
    """Outlook's own TZIDs ("Eastern Standard Time") defined by its VTIMEZONEs; a weekly
    series across the end of DST keeps 10:00 local; a session ending in another zone
    keeps each time in its own zone; the Teams link comes from the description."""
    run = feed(tmp_path, "outlook-2016.ics")
    assert run.sync().stderr == ""
    zoom = "https://us02web.zoom.us/j/85555501020?pwd=SamP2026"
    check(
        run.sessions(),
        {
            f"{OUTLOOK_SERIES}/20261029T140000Z": ("2026-10-29T14:00:00+00:00", "cl-alex", TEAMS),
            f"{OUTLOOK_SERIES}/20261105T150000Z": ("2026-11-05T15:00:00+00:00", "cl-alex", TEAMS),
            f"{OUTLOOK_SERIES}/20261112T150000Z": ("2026-11-12T15:00:00+00:00", "cl-alex", TEAMS),
            f"{OUTLOOK_SERIES}/20261119T150000Z": ("2026-11-19T15:00:00+00:00", "cl-alex", TEAMS),
            OUTLOOK_SAM: ("2026-11-03T20:00:00+00:00", "cl-sam", zoom),
        },
    )
    # DTEND is 14:50 Central, i.e. 15:50 Eastern: the session's end is not read in the
    # start's zone (that would make it 19:50 UTC, ten minutes before it starts).
    config = load_config(tmp_path / "config.toml", {})
    now = datetime.fromisoformat(NOW)
    listing = ics.build(config, {}, now).fetch(Window(now, now + timedelta(days=30)))
    [sam] = [a for a in listing.appointments if a.id == OUTLOOK_SAM]
    assert (sam.start.isoformat(), sam.end and sam.end.isoformat()) == (
        "2026-11-03T20:00:00+00:00",
        "2026-11-03T20:50:00+00:00",
    )


OWA_JORDAN = (
    "040000008200E00074C5B7101A82E0080000000010B2C4D6E8F0DC010000000000000000100000"
    "00AA11BB22CC33DD44EE55FF6677889900"
)
OWA_RILEY = (
    "040000008200E00074C5B7101A82E0080000000020C3D5E7F9A1DC010000000000000000100000"
    "00BB22CC33DD44EE55FF66778899AA0011"
)
OWA_CASEY = (
    "040000008200E00074C5B7101A82E0080000000030D4E6F8A0B2DC010000000000000000100000"
    "00CC33DD44EE55FF66778899AABB001122"
)


def test_owa_display_name_zones_without_vtimezone(tmp_path: Path) -> None:
    """An Exchange display name is mapped (in a Chicago practice, 13:30 Eastern is 12:30
    PM CST, not 1:30 PM); "(GMT +01:00)" is never guessed: that session waits under
    attention naming the TZID, said once; years-old broken events say nothing and do not
    stop a removed session from counting as cancelled."""
    run = feed(tmp_path, "owa-display-names.ics", zone="America/Chicago")
    first = run.sync()
    assert first.stderr.count("\n") == 1, first.stderr
    assert f"record '{OWA_RILEY}' skipped: time zone '(GMT +01:00)' (DTSTART)" in first.stderr
    assert "Old" not in first.stderr and "2020" not in first.stderr
    sessions = run.sessions()
    check(
        sessions,
        {
            OWA_JORDAN: (
                "2026-11-02T18:30:00+00:00",
                "cl-jordan",
                "https://us02web.zoom.us/j/85555501030?pwd=Jordan1",
            ),
            OWA_CASEY: (
                "2026-11-05T14:00:00+00:00",
                "cl-casey",
                "https://us02web.zoom.us/j/85555501050?pwd=Casey01",
            ),
        },
    )
    assert any("at 12:30 PM" in body for body in sessions[OWA_JORDAN]["cl-jordan"]["bodies"])
    attention = [i["reason"] for i in run.status()["attention"]]
    assert any("'(GMT +01:00)'" in reason for reason in attention), attention
    assert run.sync().stderr == ""  # the same problem is not mailed again

    # Jordan's session is removed from the feed: a cancellation, even though the feed
    # still holds broken events from 2020 and an unresolvable zone.
    text = (tmp_path / "feed.ics").read_text()
    start = text.index("BEGIN:VEVENT")
    (tmp_path / "feed.ics").write_text(text[:start] + text[text.index("END:VEVENT\n") + 11 :])
    assert run.sync().stderr == ""
    assert run.status()["last_sync"]["counts"]["canceled"] == 1
    assert set(run.sessions()) == {OWA_CASEY}


GOOGLE_SERIES = "5q2n7v0c1d9e8f3a4b6k2m1p0r@google.com"
MEET = "https://meet.google.com/abc-defg-hij"


def test_google_overrides_exdate_and_x_wr_timezone_floating_times(tmp_path: Path) -> None:
    """A weekly series with an EXDATE and a moved occurrence (RECURRENCE-ID), and a
    floating time read in the calendar's X-WR-TIMEZONE (Chicago), not the practice's."""
    run = feed(tmp_path, "google-calendar.ics")
    assert run.sync().stderr == ""
    check(
        run.sessions(),
        {
            # 10-28 is an EXDATE; 11-04 09:00 was moved to 11-05 11:00 (same id).
            f"{GOOGLE_SERIES}/20261104T150000Z": ("2026-11-05T17:00:00+00:00", "cl-morgan", MEET),
            f"{GOOGLE_SERIES}/20261111T150000Z": ("2026-11-11T15:00:00+00:00", "cl-morgan", MEET),
            f"{GOOGLE_SERIES}/20261118T150000Z": ("2026-11-18T15:00:00+00:00", "cl-morgan", MEET),
            f"{GOOGLE_SERIES}/20261125T150000Z": ("2026-11-25T15:00:00+00:00", "cl-morgan", MEET),
            # 14:00 floating = 14:00 Chicago; the in-person session on 11-12 gets nothing.
            "0f1e2d3c4b5a69788796a5b4c3d2e1f0@google.com": (
                "2026-11-10T20:00:00+00:00",
                "cl-taylor",
                "https://meet.google.com/kln-opqr-stu",
            ),
        },
    )


def test_apple_ical_cancelled_and_tentative(tmp_path: Path) -> None:
    """A cancelled event gets nothing; a tentative one is still a booked slot."""
    run = feed(tmp_path, "apple-icloud.ics", zone="America/Los_Angeles")
    assert run.sync().stderr == ""
    check(
        run.sessions(),
        {
            "6B1D4C8E-2F3A-4B5C-9D6E-7F8091A2B3C4": (
                "2026-10-30T23:00:00+00:00",
                "cl-jamie",
                "https://us02web.zoom.us/j/85555501060?pwd=Jamie01",
            ),
            "F1E2D3C4-B5A6-4978-8695-A4B3C2D1E0F9": (
                "2026-11-09T17:10:00+00:00",
                "cl-drew",
                "https://us02web.zoom.us/j/85555501070?pwd=Drew01",
            ),
        },
    )


def test_thunderbird_and_evolution_globally_unique_tzids_are_read_silently(
    tmp_path: Path,
) -> None:
    """A /mozilla.org/ TZID defined by its VTIMEZONE, and an Evolution
    /freeassociation.sourceforge.net/ one without: right times, and no library warning
    (GloballyUniqueTZIDGuessed) on stderr."""
    run = feed(tmp_path, "thunderbird-global-tzid.ics")
    synced = run.sync()
    assert synced.stderr == ""
    series = "8c7b6a59-4d3e-4f21-9a8b-7c6d5e4f3a21"
    link = "https://us02web.zoom.us/j/85555501080?pwd=Alex0801"
    sessions = run.sessions()
    # The first session is today at 17:00 EDT: its 24 h text is already due (it goes at
    # once, the session being hours away), its 30 min text at 16:30 EDT.
    today = sessions.pop(f"{series}/20261027T210000Z")
    assert today["cl-alex"]["reminder-24h"] == NOW.replace("Z", "+00:00")
    assert today["cl-alex"]["final-30m"] == "2026-10-27T20:30:00+00:00"
    check(
        sessions,
        {
            f"{series}/20261103T220000Z": ("2026-11-03T22:00:00+00:00", "cl-alex", link),
            f"{series}/20261110T220000Z": ("2026-11-10T22:00:00+00:00", "cl-alex", link),
            f"{series}/20261117T220000Z": ("2026-11-17T22:00:00+00:00", "cl-alex", link),
            "20261021T120000Z-4512-1000-1-7@evolution.example.org": (
                "2026-11-02T14:30:00+00:00",
                "cl-sam",
                "https://us02web.zoom.us/j/85555501090?pwd=Sam0901",
            ),
        },
    )


def test_no_library_warning_reaches_a_cron_run(tmp_path: Path) -> None:
    """In a real process (pytest would capture a warning before CliRunner saw it), the
    globally unique TZIDs that make icalendar warn leave stderr empty."""
    run = feed(tmp_path, "thunderbird-global-tzid.ics")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("LINKCLI_", "PYTHONWARN"))},
        "LINKCLI_NOW": NOW,
        "LINKCLI_CONFIG": str(run.root / "config.toml"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "linkcli", "sync"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (0, "")


def test_simplepractice_preset_on_its_documented_feed(tmp_path: Path) -> None:
    """The video-office link, never the clinician's secure.simplepractice.com page; an
    office session and an out-of-office block get nothing."""
    run = feed(tmp_path, "simplepractice-calendar-sync.ics", kind="simplepractice")
    assert run.sync().stderr == ""
    check(
        run.sessions(),
        {
            "appointment-3a7f19c2e4@simplepractice.com": (
                "2026-10-30T15:00:00+00:00",
                "cl-alex",
                "https://video.simplepractice.com/appt-9c1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a",
            ),
        },
    )


def test_therapynotes_preset_on_its_documented_feed(tmp_path: Path) -> None:
    """No link in the feed: clients get the therapist's TherapyPortal waiting room."""
    portal = "https://www.therapyportal.com/p/riverside/waiting-room/maya-chen"
    run = feed(tmp_path, "therapynotes-calendar-sync.ics", kind="therapynotes")
    config = tmp_path / "config.toml"
    config.write_text(
        config.read_text().replace(
            'display_name = "Dr. Chen"', f'display_name = "Dr. Chen"\nlink = "{portal}"'
        )
    )
    assert run.sync().stderr == ""
    check(run.sessions(), {"TN-APPT-0004417": ("2026-10-29T19:00:00+00:00", "cl-alex", portal)})


# --- HTTP sources, answered by respx from the fixture files ---------------------------------


def shape(name: str) -> Any:
    return json.loads((SHAPES / name).read_text())


def answer(name: str, calls: list[str] | None = None) -> Any:
    """A respx side effect serving one fixture file, noting each call in `calls`."""

    def respond(request: httpx.Request) -> httpx.Response:
        if calls is not None:
            calls.append(request.url.path)
        return httpx.Response(200, json=shape(name))

    return respond


CALENDLY = "https://api.calendly.com"
CALENDLY_EVENTS = {
    "zoom": "0b6c9f4e-1d2a-4c3b-8e5f-6a7b8c9d0e1f",
    "meet": "1c7dae5f-2e3b-4d4c-9f60-7b8c9d0e1f2a",
    "teams": "2d8ebf60-3f4c-4e5d-a071-8c9d0e1f2a3b",
    "webex": "3e9fc071-4a5d-4f6e-b182-9d0e1f2a3b4c",
    "physical": "4fa0d182-5b6e-4a7f-c293-0e1f2a3b4c5d",
    "custom": "5ab1e293-6c7f-4b80-d3a4-1f2a3b4c5d6e",
    "byuri": "6bc2f3a4-7d80-4c91-e4b5-2a3b4c5d6e7f",
}


def calendly_api(router: respx.MockRouter, calls: list[str], user_gone: bool = False) -> None:
    """Calendly API v2 as published: paged events, paged invitees, users by URI."""

    def events(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        token = request.url.params.get("page_token")
        page = "page2" if token == "EVTPAGE2TOKEN" else "page1"
        return httpx.Response(200, json=shape(f"calendly/scheduled_events.{page}.json"))

    def invitees(request: httpx.Request, uuid: str) -> httpx.Response:
        calls.append(request.url.path)
        key = next(k for k, v in CALENDLY_EVENTS.items() if v == uuid)
        if key == "zoom":
            page = "page2" if request.url.params.get("page_token") == "INVPAGE2" else "page1"
            return httpx.Response(200, json=shape(f"calendly/invitees.zoom.{page}.json"))
        return httpx.Response(200, json=shape(f"calendly/invitees.{key}.json"))

    router.get(f"{CALENDLY}/users/me").mock(side_effect=answer("calendly/users_me.json", calls))
    gone = httpx.Response(404, json={"title": "Resource Not Found", "message": "not found"})
    router.get(f"{CALENDLY}/users/USR-OKAFOR-0002").mock(
        return_value=gone if user_gone else None,
        side_effect=None if user_gone else answer("calendly/user_okafor.json", calls),
    )
    router.get(f"{CALENDLY}/organization_memberships").mock(
        side_effect=answer("calendly/organization_memberships.json", calls)
    )
    router.get(f"{CALENDLY}/scheduled_events").mock(side_effect=events)
    router.get(url__regex=rf"^{CALENDLY}/scheduled_events/(?P<uuid>[0-9a-f-]+)/invitees").mock(
        side_effect=invitees
    )


def test_calendly_v2_events_for_every_location_type(tmp_path: Path) -> None:
    """Zoom, Google Meet and Teams (Calendly's own redirect links, allowed), Webex and a
    custom Doxy.me link reach their clients; a physical location gets nothing; a group's
    invitees are read across pages; a host named only by user URI is looked up once."""
    run = practice(
        tmp_path,
        """
        [source]
        kind = "calendly"

        [therapists."maya.chen@example.org"]
        display_name = "Dr. Chen"
        """,
    )
    run.env = {"CALENDLY_TOKEN": "calendly-test-token-not-real"}
    calls: list[str] = []
    with respx.mock(assert_all_called=False) as router:
        calendly_api(router, calls)
        assert run.sync().stderr == ""
        sessions = run.sessions()
        calls.clear()
        assert run.sync().stderr == ""
    ev = CALENDLY_EVENTS
    check(
        sessions,
        {
            ev["zoom"]: [
                ("2026-11-02T15:00:00+00:00", "alex@example.org", "https://us02web.zoom.us/j/"),
                ("2026-11-02T15:00:00+00:00", "sam@example.org", "https://us02web.zoom.us/j/"),
            ],
            ev["meet"]: (
                "2026-11-03T16:00:00+00:00",
                "jordan@example.org",
                f"https://calendly.com/events/{ev['meet']}/google_meet",
            ),
            ev["teams"]: (
                "2026-11-04T17:00:00+00:00",
                "riley@example.org",
                f"https://calendly.com/events/{ev['teams']}/microsoft_teams",
            ),
            ev["webex"]: (
                "2026-11-05T18:00:00+00:00",
                "casey@example.org",
                "https://riverside.webex.com/riverside/j.php?MTID=",
            ),
            ev["custom"]: (
                "2026-11-09T20:00:00+00:00",
                "taylor@example.org",
                "https://doxy.me/drchen",
            ),
            ev["byuri"]: (
                "2026-11-10T21:00:00+00:00",
                "jamie@example.org",
                "https://us02web.zoom.us/j/85555502070?pwd=ByUri2026",
            ),
        },
    )
    jamie = sessions[ev["byuri"]]["jamie@example.org"]["bodies"]
    assert all("Ada Okafor" in body for body in jamie)  # the host read from the user URI
    # The second sync reads the events but neither invitees nor the user again (cached
    # beside the store, owner-only).
    assert "/users/USR-OKAFOR-0002" not in calls and not any("invitees" in c for c in calls)
    cache = tmp_path / "linkcli.db.calendly-cache.json"
    assert cache.stat().st_mode & 0o777 == 0o600


def test_calendly_host_that_cannot_be_read_skips_only_its_events(tmp_path: Path) -> None:
    run = practice(tmp_path, '\n[source]\nkind = "calendly"\n')
    run.env = {"CALENDLY_TOKEN": "calendly-test-token-not-real"}
    with respx.mock(assert_all_called=False) as router:
        calendly_api(router, [], user_gone=True)
        synced = run.sync()
        sessions = run.sessions()
    byuri = CALENDLY_EVENTS["byuri"]
    assert synced.stderr.count("\n") == 1
    assert (
        f"calendly event skipped: record '{byuri}': its host (user 'USR-OKAFOR-0002') could "
        "not be read: calendly: HTTP 404 from /users/USR-OKAFOR-0002"
    ) in synced.stderr
    assert byuri not in sessions and CALENDLY_EVENTS["meet"] in sessions


ZOOM_API = "https://api.zoom.us/v2"
ZOOM_ENV = {
    "ZOOM_ACCOUNT_ID": "acct-test-1",
    "ZOOM_CLIENT_ID": "client-id-test",
    "ZOOM_CLIENT_SECRET": "client-secret-test-not-real",
}
ZOOM_SOURCE = """
    [source]
    kind = "zoom"

    [therapists."kFxW3qZ8T0uYbLm2VpR7sA"]
    name = "Maya Chen"
    display_name = "Dr. Chen"
    """


def zoom_api(router: respx.MockRouter, calls: list[str], listing: str) -> None:
    """Zoom's REST v2 and OAuth endpoint as published: list, get, registrants."""

    def by_id(kind: str) -> Any:
        def respond(request: httpx.Request, mid: str) -> httpx.Response:
            calls.append(request.url.path)
            return httpx.Response(200, json=shape(f"zoom/{kind}_{mid}.json"))

        return respond

    router.post("https://zoom.us/oauth/token").mock(
        side_effect=answer("zoom/oauth_token.json", calls)
    )
    router.get(f"{ZOOM_API}/users/me/meetings").mock(side_effect=answer(listing, calls))
    router.get(url__regex=rf"^{ZOOM_API}/meetings/(?P<mid>\d+)/registrants").mock(
        side_effect=by_id("registrants")
    )
    router.get(url__regex=rf"^{ZOOM_API}/meetings/(?P<mid>\d+)$").mock(side_effect=by_id("meeting"))


def test_zoom_list_get_registrants_and_oauth(tmp_path: Path) -> None:
    """Topic meetings reach the contacts directory's client; a registration meeting's
    registrants get their own texts; a fixed-time recurring meeting is one session per
    occurrence; the meeting's join_url is sent, never its start_url. A no-change sync
    then costs 2 requests: the list and the one registration meeting's registrants;
    a meeting's details are read again once they are a day old."""
    run = practice(tmp_path, ZOOM_SOURCE)
    run.env = ZOOM_ENV
    calls: list[str] = []
    with respx.mock(assert_all_called=False) as router:
        zoom_api(router, calls, "zoom/meetings_upcoming.json")
        assert run.sync().stderr == ""
        sessions = run.sessions()
        calls.clear()
        assert run.sync().stderr == ""
        assert calls == ["/v2/users/me/meetings", "/v2/meetings/85555503020/registrants"]
        # A day later each meeting's details are read once more (a registration switched
        # on leaves the list entry unchanged), with a fresh token.
        calls.clear()
        run.now = "2026-10-28T12:30:00Z"
        assert run.sync().stderr == ""
        assert sorted(set(calls)) == [
            "/oauth/token",
            "/v2/meetings/85555503010",
            "/v2/meetings/85555503020",
            "/v2/meetings/85555503020/registrants",
            "/v2/meetings/85555503030",
            "/v2/users/me/meetings",
        ]
        run.now = NOW
    group = "https://us02web.zoom.us/j/85555503020?pwd=GroupZ2"
    riley = "https://us02web.zoom.us/j/85555503030?pwd=RileyZ3"
    check(
        sessions,
        {
            "85555503010": (
                "2026-11-02T15:00:00+00:00",
                "cl-alex",
                "https://us02web.zoom.us/j/85555503010?pwd=AlexZ1",
            ),
            "85555503020": [
                ("2026-11-04T23:00:00+00:00", "sam@example.org", group),
                ("2026-11-04T23:00:00+00:00", "jordan@example.org", group),
            ],
            "85555503030/2026-11-05T16:00:00Z": ("2026-11-05T16:00:00+00:00", "cl-riley", riley),
            "85555503030/2026-11-12T17:00:00Z": ("2026-11-12T17:00:00+00:00", "cl-riley", riley),
        },
    )
    bodies = [b for people in sessions.values() for p in people.values() for b in p["bodies"]]
    assert not any("zak=" in body for body in bodies)


def test_zoom_page_announcing_more_meetings_without_a_token_changes_nothing(
    tmp_path: Path,
) -> None:
    """total_records 235 and page_count 5 with no next_page_token: an incomplete
    listing (exit 3), so the meetings it does not show do not vanish."""
    run = practice(tmp_path, ZOOM_SOURCE)
    run.env = ZOOM_ENV
    with respx.mock(assert_all_called=False) as router:
        zoom_api(router, [], "zoom/meetings_upcoming.json")
        run.sync()
        before = run.sessions()
    with respx.mock(assert_all_called=False) as router:
        zoom_api(router, [], "zoom/meetings_page_without_token.json")
        refused = run.cli("sync")
    assert refused.exit_code == 3
    assert "announced 235 meetings but gave no next_page_token" in refused.stderr
    assert run.sessions() == before


FHIR_SOURCE = """
    [source]
    kind = "fhir"
    base_url = "https://fhir.example.org/r4"

    [therapists."example"]
    display_name = "Dr. Chen"
    """


def test_fhir_r4_spec_examples_in_a_searchset_bundle(tmp_path: Path) -> None:
    """The spec's booked appointment reaches its patient (mobile picked from telecom,
    link from the virtualService extension); its proposed request without a start is
    not a session and says nothing; the two-doctor discussion sends the patient, who is
    information-only, nothing."""
    run = practice(tmp_path, FHIR_SOURCE)
    run.env = {"FHIR_TOKEN": "fhir-test-token-not-real"}
    with respx.mock(assert_all_called=False) as router:
        router.get("https://fhir.example.org/r4/Appointment").mock(
            side_effect=answer("fhir/searchset.json")
        )
        assert run.sync().stderr == ""
    check(
        run.sessions(),
        {
            "example": (
                "2026-11-03T15:00:00+00:00",
                "example",
                "https://us02web.zoom.us/j/85555504010?pwd=FhirZ1",
            )
        },
    )
    assert run.status()["attention"] == []


def test_fhir_total_above_what_was_read_changes_nothing(tmp_path: Path) -> None:
    run = practice(tmp_path, FHIR_SOURCE)
    run.env = {"FHIR_TOKEN": "fhir-test-token-not-real"}
    with respx.mock(assert_all_called=False) as router:
        router.get("https://fhir.example.org/r4/Appointment").mock(
            side_effect=answer("fhir/searchset_total_above_read.json")
        )
        refused = run.cli("sync")
    assert refused.exit_code == 3
    assert "announced 5 appointments but only 3 could be read" in refused.stderr


# --- the rules behind the findings, one table each ------------------------------------------


@pytest.mark.parametrize(
    ("tzid", "expected"),
    [
        ("America/Chicago", "America/Chicago"),  # IANA
        ("Eastern Standard Time", "America/New_York"),  # Windows, via CLDR's table
        ('"W. Europe Standard Time"', "Europe/Berlin"),  # quoted as Outlook writes it
        ("(UTC-05:00) Eastern Time (US & Canada)", "America/New_York"),  # Exchange display
        ("(GMT-06:00) Central Time (US & Canada)", "America/Chicago"),  # older Exchange
        ("(UTC-05:00) Eastern Time (US and Canada)", "America/New_York"),  # "&" spelled out
        ("(UTC-08:00) Pacific Time (US &amp; Canada)", "America/Los_Angeles"),  # escaped
        ("(UTC-06:00) Eastern Time (US and Canada)", None),  # still checked against the offset
        ("(UTC-07:00) Arizona", "America/Phoenix"),
        ("(GMT+10:00) Canberra, Melbourne, Sydney", "Australia/Sydney"),  # southern DST
        ("(UTC-06:00) Eastern Time (US & Canada)", None),  # offset contradicts the name
        ("(GMT +01:00)", None),  # an offset alone names no zone's rules
        ("(UTC+01:00) Somewhere Else", None),  # a display name not known for certain
        ("/mozilla.org/20070129_1/America/New_York", "America/New_York"),
        (
            "/softwarestudio.org/Olson_20011030_5/America/Argentina/Buenos_Aires",
            "America/Argentina/Buenos_Aires",
        ),
        ("/example.org/Not/AZone", None),
        ("Customized Time Zone", None),
        ('"tzone://Microsoft/Utc"', "UTC"),  # Exchange's id for UTC
        ("tzone://Microsoft/Custom", None),  # whatever the organizer set up
        ("", None),
    ],
)
def test_which_tzids_resolve(tzid: str, expected: str | None) -> None:
    assert resolve_tzid(tzid) == expected


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://calendly.com/events/1c7dae5f-2e3b-4d4c-9f60-7b8c9d0e1f2a/google_meet", True),
        ("https://calendly.com/events/2d8ebf60-3f4c-4e5d-a071-8c9d0e1f2a3b/microsoft_teams", True),
        ("https://calendly.com/maya-chen/50min", False),  # a scheduling page
        ("https://calendly.com/events/1c7dae5f-2e3b-4d4c-9f60-7b8c9d0e1f2a", False),
        ("https://calendly.com/events/1c7dae5f-2e3b-4d4c-9f60-7b8c9d0e1f2a/zoom", False),
        (
            "https://evil.calendly.com/events/1c7dae5f-2e3b-4d4c-9f60-7b8c9d0e1f2a/google_meet",
            False,
        ),
        ("http://calendly.com/events/1c7dae5f-2e3b-4d4c-9f60-7b8c9d0e1f2a/google_meet", False),
    ],
)
def test_calendly_conference_redirects_are_session_links(url: str, allowed: bool) -> None:
    assert (LinkPolicy().check(url) is None) is allowed


OLD_BROKEN = """\
BEGIN:VEVENT
UID:old-broken-2020
SUMMARY:Old intake
DTSTART;TZID="Eastern Standard Time:20200102T133000"
DTEND;TZID="Eastern Standard Time:20200102T142000"
END:VEVENT
"""
GOOD = """\
BEGIN:VEVENT
UID:{uid}
SUMMARY:{who}
DTSTART;TZID=America/New_York:{start}
DTEND;TZID=America/New_York:{end}
LOCATION:https://us02web.zoom.us/j/8555550{n}?pwd=Ok
END:VEVENT
"""


def write_feed(path: Path, *events: str) -> None:
    body = "".join(events)
    path.write_text(f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n{body}END:VCALENDAR\n")


def test_old_broken_history_is_silent_and_cancellations_still_work(tmp_path: Path) -> None:
    """A malformed event from 2020 is neither reported nor held against the listing:
    `status --check` passes and a session removed from the feed is cancelled."""
    alex = GOOD.format(
        uid="a1", who="Alex Rivera", start="20261103T100000", end="20261103T105000", n=1
    )
    sam = GOOD.format(
        uid="s1", who="Sam Patel", start="20261104T100000", end="20261104T105000", n=2
    )
    run = feed(tmp_path, "apple-icloud.ics")  # the config only; the feed is written here
    write_feed(tmp_path / "feed.ics", OLD_BROKEN, alex, sam)
    assert run.sync().stderr == ""
    assert run.cli("status", "--check").exit_code == 0
    write_feed(tmp_path / "feed.ics", OLD_BROKEN, sam)
    assert run.sync().stderr == ""
    assert run.status()["last_sync"]["counts"]["canceled"] == 1
    assert set(run.sessions()) == {"s1"}


# A weekly client since 2020, as Exchange publishes it: the series is open-ended (so it is
# read), while two of its overrides from 2020 are broken: one ends before it starts, one
# holds its dates inside the quoted TZID.
SINCE_2020 = """\
BEGIN:VEVENT
UID:w1
SUMMARY:Alex Rivera
DTSTART;TZID="(UTC-05:00) Eastern Time (US & Canada)":20200106T100000
DTEND;TZID="(UTC-05:00) Eastern Time (US & Canada)":20200106T105000
RRULE:FREQ=WEEKLY;BYDAY=MO
{exdate}LOCATION:https://us02web.zoom.us/j/85555501011?pwd=Weekly1
END:VEVENT
BEGIN:VEVENT
UID:w1
RECURRENCE-ID;TZID="(UTC-05:00) Eastern Time (US & Canada)":20200113T100000
SUMMARY:Alex Rivera
DTSTART;TZID="(UTC-05:00) Eastern Time (US & Canada)":20200113T113000
DTEND;TZID="(UTC-05:00) Eastern Time (US & Canada)":20200113T110000
END:VEVENT
BEGIN:VEVENT
UID:w1
RECURRENCE-ID;TZID="Eastern Standard Time:20200120T100000"
SUMMARY:Alex Rivera
DTSTART;TZID="Eastern Standard Time:20200120T113000"
DTEND;TZID="Eastern Standard Time:20200120T120000"
END:VEVENT
"""


def test_broken_overrides_of_a_running_series_are_history_too(tmp_path: Path) -> None:
    """The series' sessions in the window get their texts at 10:00 local (15:00Z after
    the DST end); the broken 2020 overrides say nothing and do not make the listing
    incomplete: an occurrence then excluded, and a session removed, are cancelled."""
    sam = GOOD.format(
        uid="s1", who="Sam Patel", start="20261104T100000", end="20261104T105000", n=2
    )
    run = feed(tmp_path, "apple-icloud.ics")  # the config only; the feed is written here
    write_feed(tmp_path / "feed.ics", OLD_BROKEN, SINCE_2020.format(exdate=""), sam)
    assert run.sync().stderr == ""
    assert run.cli("status", "--check").exit_code == 0
    weekly = "https://us02web.zoom.us/j/85555501011?pwd=Weekly1"
    check(
        run.sessions(),
        {
            "w1/20261102T150000Z": ("2026-11-02T15:00:00+00:00", "cl-alex", weekly),
            "w1/20261109T150000Z": ("2026-11-09T15:00:00+00:00", "cl-alex", weekly),
            "w1/20261116T150000Z": ("2026-11-16T15:00:00+00:00", "cl-alex", weekly),
            "w1/20261123T150000Z": ("2026-11-23T15:00:00+00:00", "cl-alex", weekly),
            "s1": ("2026-11-04T15:00:00+00:00", "cl-sam", "https://us02web.zoom.us/j/85555502"),
        },
    )
    exdate = 'EXDATE;TZID="(UTC-05:00) Eastern Time (US & Canada)":20261109T100000\n'
    write_feed(tmp_path / "feed.ics", OLD_BROKEN, SINCE_2020.format(exdate=exdate))
    assert run.sync().stderr == ""
    assert run.status()["last_sync"]["counts"]["canceled"] == 2
    assert set(run.sessions()) == {
        "w1/20261102T150000Z",
        "w1/20261116T150000Z",
        "w1/20261123T150000Z",
    }


# Rules as loosely typed as some exporters write them (the shapes of node-ical's
# `non-utc-until*.ics` and `windows-quoted-tz-rrule.ics`): a date-only UNTIL, an UNTIL
# without zone after a zoned DTSTART, and a display-name DTSTART ("US and Canada") with
# DTEND and EXDATE in another zone.
LOOSE_RULES = """\
BEGIN:VEVENT
UID:until-date
SUMMARY:Alex Rivera
DTSTART;TZID=America/New_York:20261026T140000
DTEND;TZID=America/New_York:20261026T145000
RRULE:FREQ=WEEKLY;UNTIL=20261109
LOCATION:https://us02web.zoom.us/j/85555501011?pwd=Until1
END:VEVENT
BEGIN:VEVENT
UID:until-local
SUMMARY:Sam Patel
DTSTART;TZID=America/New_York:20261028T090000
DTEND;TZID=America/New_York:20261028T095000
RRULE:FREQ=WEEKLY;UNTIL=20261111T090000
LOCATION:https://us02web.zoom.us/j/85555501012?pwd=Until2
END:VEVENT
BEGIN:VEVENT
UID:mixed-zones
SUMMARY:Jordan Lee
DTSTART;TZID="(UTC-05:00) Eastern Time (US and Canada)":20261116T120000
DTEND;TZID=America/Los_Angeles:20261116T095000
RRULE:FREQ=DAILY;COUNT=3
EXDATE;TZID=America/Los_Angeles:20261117T090000
LOCATION:https://us02web.zoom.us/j/85555501013?pwd=Mixed3
END:VEVENT
"""


def test_loosely_typed_rules_keep_their_last_sessions(tmp_path: Path) -> None:
    """A date-only UNTIL ends the series after that day's session, a zone-less UNTIL is
    read in DTSTART's zone (the library alone would drop the last session of each,
    silently); the display name is mapped and the EXDATE written in Los Angeles time
    removes the 12:00 Eastern occurrence it names."""
    run = feed(tmp_path, "apple-icloud.ics")  # the config only; the feed is written here
    write_feed(tmp_path / "feed.ics", LOOSE_RULES)
    assert run.sync().stderr == ""
    until1 = "https://us02web.zoom.us/j/85555501011?pwd=Until1"
    until2 = "https://us02web.zoom.us/j/85555501012?pwd=Until2"
    mixed = "https://us02web.zoom.us/j/85555501013?pwd=Mixed3"
    check(
        run.sessions(),  # (10-26 14:00 EDT is past: nothing planned for it)
        {
            "until-date/20261102T190000Z": ("2026-11-02T19:00:00+00:00", "cl-alex", until1),
            "until-date/20261109T190000Z": ("2026-11-09T19:00:00+00:00", "cl-alex", until1),
            "until-local/20261028T130000Z": ("2026-10-28T13:00:00+00:00", "cl-sam", until2),
            "until-local/20261104T140000Z": ("2026-11-04T14:00:00+00:00", "cl-sam", until2),
            "until-local/20261111T140000Z": ("2026-11-11T14:00:00+00:00", "cl-sam", until2),
            "mixed-zones/20261116T170000Z": ("2026-11-16T17:00:00+00:00", "cl-jordan", mixed),
            "mixed-zones/20261118T170000Z": ("2026-11-18T17:00:00+00:00", "cl-jordan", mixed),
        },
    )


# A weekly series moved "this and all following" by one override with
# RECURRENCE-ID;RANGE=THISANDFUTURE (the shape of python-recurring-ical-events'
# `issue_75_range_parameter.ics`), across the end of DST.
THIS_AND_FUTURE = """\
BEGIN:VEVENT
UID:tf1
SUMMARY:Sam Patel
DTSTART;TZID=America/New_York:20261028T100000
DURATION:PT50M
RRULE:FREQ=WEEKLY;COUNT=4
LOCATION:https://us02web.zoom.us/j/85555501012?pwd=Future1
END:VEVENT
"""
MOVED_ON = """\
BEGIN:VEVENT
UID:tf1
RECURRENCE-ID;RANGE=THISANDFUTURE;TZID=America/New_York:20261104T100000
SUMMARY:Sam Patel
DTSTART;TZID=America/New_York:20261104T113000
DURATION:PT50M
LOCATION:https://us02web.zoom.us/j/85555501012?pwd=Future1
END:VEVENT
"""


def test_a_this_and_future_override_moves_every_later_session(tmp_path: Path) -> None:
    """Each later session moves to 11:30 local and keeps its own slot's id, so the texts
    follow it (rescheduled, not three sessions under one id and two lost)."""
    run = feed(tmp_path, "apple-icloud.ics")  # the config only; the feed is written here
    write_feed(tmp_path / "feed.ics", THIS_AND_FUTURE)
    assert run.sync().stderr == ""
    write_feed(tmp_path / "feed.ics", THIS_AND_FUTURE, MOVED_ON)
    assert run.sync().stderr == ""
    counts = run.status()["last_sync"]["counts"]
    assert (counts["rescheduled"], counts["canceled"], counts["problems"]) == (3, 0, 0)
    link = "https://us02web.zoom.us/j/85555501012?pwd=Future1"
    check(
        run.sessions(),
        {
            "tf1/20261028T140000Z": ("2026-10-28T14:00:00+00:00", "cl-sam", link),
            "tf1/20261104T150000Z": ("2026-11-04T16:30:00+00:00", "cl-sam", link),
            "tf1/20261111T150000Z": ("2026-11-11T16:30:00+00:00", "cl-sam", link),
            "tf1/20261118T150000Z": ("2026-11-18T16:30:00+00:00", "cl-sam", link),
        },
    )


def test_a_malformed_value_is_quoted_safely_once(tmp_path: Path) -> None:
    """Inside the window the same mistake is reported, quoting what the feed says
    (control characters replaced, shortened), once per new problem."""
    broken = OLD_BROKEN.replace("old-broken-2020", "b1").replace("202001", "202611")
    escape = GOOD.format(uid="e1", who="Sam Patel", start="20261104T100000", end="x", n=2)
    escape = escape.replace("DTEND;TZID=America/New_York:x", "DTEND:2026\x1b[31m1104" + "9" * 90)
    run = feed(tmp_path, "apple-icloud.ics")
    write_feed(tmp_path / "feed.ics", broken, escape)
    first = run.sync()
    assert first.stderr.count("\n") == 1  # the first problem, and how many more
    assert "\x1b" not in first.stderr
    reasons = sorted(i["reason"] for i in run.status()["attention"] if i["kind"] == "bad_record")
    assert len(reasons) == 2, reasons
    assert (
        "record 'b1' skipped: DTSTART 'TZID=\"Eastern Standard Time:20261102T133000\":' is "
        "not a valid date or date-time"
    ) in reasons[0]
    assert "record 'e1' skipped: DTEND '2026?[31m1104999" in reasons[1]
    assert "...' is not a valid date" in reasons[1] and "\x1b" not in reasons[1]
    assert run.sync().stderr == ""  # already reported; `status` keeps listing it


CUSTOM_ZONE = """\
BEGIN:VTIMEZONE
TZID:(GMT +01:00)
BEGIN:STANDARD
DTSTART:16010101T000000
TZOFFSETFROM:+0100
TZOFFSETTO:+0100
END:STANDARD
END:VTIMEZONE
"""
IN_CUSTOM_ZONE = """\
BEGIN:VEVENT
UID:c1
SUMMARY:Riley Brooks
DTSTART;TZID="(GMT +01:00)":20261104T170000
DTEND;TZID="(GMT +01:00)":20261104T175000
LOCATION:https://us02web.zoom.us/j/85555501040?pwd=Riley01
END:VEVENT
"""


def test_a_tzid_is_used_as_the_feed_defines_it_and_only_there(tmp_path: Path) -> None:
    """ "(GMT +01:00)" defined by the feed's VTIMEZONE is read as defined (17:00 = 16:00
    UTC); the same TZID in a feed that does not define it is held, even in the same
    process (icalendar caches definitions process-wide)."""
    (tmp_path / "a").mkdir()
    defined = feed(tmp_path / "a", "apple-icloud.ics")
    write_feed(tmp_path / "a" / "feed.ics", CUSTOM_ZONE, IN_CUSTOM_ZONE)
    assert defined.sync().stderr == ""
    link = "https://us02web.zoom.us/j/85555501040?pwd=Riley01"
    check(defined.sessions(), {"c1": ("2026-11-04T16:00:00+00:00", "cl-riley", link)})

    (tmp_path / "b").mkdir()
    undefined = feed(tmp_path / "b", "apple-icloud.ics")
    write_feed(tmp_path / "b" / "feed.ics", IN_CUSTOM_ZONE)
    assert "time zone '(GMT +01:00)' (DTSTART)" in undefined.sync().stderr
    assert undefined.sessions() == {}


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("booked", "scheduled"),
        ("proposed", "canceled"),  # not a session yet: no messages
        ("pending", "canceled"),
        ("waitlist", "canceled"),
        ("cancelled", "canceled"),
    ],
)
def test_fhir_requests_with_a_time_are_not_sessions_yet(status: str, expected: str) -> None:
    resource = {
        **shape("fhir/searchset.json")["entry"][0]["resource"],
        "status": status,
    }
    now = datetime.fromisoformat(NOW)
    assert appointment_from_fhir(resource, {}, {}, None, now).status == expected
