"""The real-shapes corpus swept whole: every file through `sync` and `preview --json`.

test_real_shapes.py checks each fixture's sessions one by one; this sweep holds the
corpus to its counts, so a fixture added without an entry here, a session gained or
lost, a new stderr line or a sync that stops being idempotent all fail. Per source:
the first sync is silent (the one exception is named), `status --check` passes where
nothing needs attention, and a second sync is silent and changes nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import respx

from tests.test_real_shapes import (
    FHIR_SOURCE,
    SHAPES,
    ZOOM_ENV,
    ZOOM_SOURCE,
    Run,
    answer,
    calendly_api,
    feed,
    practice,
    zoom_api,
)

PORTAL = "https://www.therapyportal.com/p/riverside/waiting-room/maya-chen"


@dataclass(frozen=True)
class Expect:
    """What one corpus file yields: listed sessions, sessions with texts planned, SMS and
    email counts, stderr lines of the first sync, and texts carrying a warning."""

    listed: int
    sessions: int
    sms: int
    email: int
    problems: int = 0
    warned: int = 0


# Calendar feeds: (source kind, practice zone, expectation). Listed counts include
# sessions that get no text (in person, cancelled, already begun).
FEEDS: dict[str, tuple[str, str, Expect]] = {
    # A weekly series across the DST end (4) and one session ending in another zone;
    # the Teams link is long, so its 8 SMS are two segments each (the warning says so).
    "outlook-2016.ics": ("ics", "America/New_York", Expect(5, 5, 10, 5, warned=8)),
    # Two display-name sessions; "(GMT +01:00)" is held (the one stderr line); the 2020
    # history is not even counted.
    "owa-display-names.ics": ("ics", "America/Chicago", Expect(2, 2, 4, 2, problems=1)),
    # Four Meet occurrences (one moved, one excluded), a floating-time session, and an
    # office session listed without texts.
    "google-calendar.ics": ("ics", "America/New_York", Expect(6, 5, 10, 5)),
    # Confirmed and tentative get texts; the cancelled one is listed as cancelled.
    "apple-icloud.ics": ("ics", "America/Los_Angeles", Expect(3, 2, 4, 2)),
    # Four Thunderbird occurrences (today's gets its 24 h text at once) and Evolution's one.
    "thunderbird-global-tzid.ics": ("ics", "America/New_York", Expect(5, 5, 10, 5)),
    # The video-office session; the office session is listed, the all-day block is not.
    "simplepractice-calendar-sync.ics": (
        "simplepractice",
        "America/New_York",
        Expect(2, 1, 2, 1),
    ),
    # The telehealth session (TherapyPortal link from config); the office one is listed.
    "therapynotes-calendar-sync.ics": ("therapynotes", "America/New_York", Expect(2, 1, 2, 1)),
}


def planned(run: Run) -> list[dict[str, Any]]:
    shown = run.cli("preview", "--json", "--days", "31")
    assert shown.exit_code == 0, shown.stderr
    items: list[dict[str, Any]] = json.loads(shown.stdout)
    return items


def sweep(run: Run, expect: Expect) -> None:
    """Sync twice and preview: the counts, the silence, the idempotence."""
    first = run.cli("sync")
    assert first.exit_code == 0, (first.stdout, first.stderr)
    assert first.stderr.count("\n") == expect.problems, first.stderr
    counts = run.status()["last_sync"]["counts"]
    assert (counts["listed"], counts["created"], counts["problems"]) == (
        expect.listed,
        expect.listed,
        expect.problems,
    )
    items = planned(run)
    assert all(item["action"] == "send" for item in items)
    assert len({item["appointment"] for item in items}) == expect.sessions
    assert [sum(i["channel"] == c for i in items) for c in ("sms", "email")] == [
        expect.sms,
        expect.email,
    ]
    assert sum(bool(item["warnings"]) for item in items) == expect.warned
    # Nothing leaks into a text: no library's words, no host's start link.
    assert not any("zak=" in item["body"] or "Warning" in item["body"] for item in items)
    assert run.cli("status", "--check").exit_code == (1 if expect.problems else 0)

    again = run.cli("sync")
    assert (again.exit_code, again.stderr) == (0, "")  # a known problem is not said again
    counts = run.status()["last_sync"]["counts"]
    assert (counts["unchanged"], counts["created"], counts["canceled"]) == (expect.listed, 0, 0)
    assert planned(run) == items


def test_every_calendar_feed_in_the_corpus_is_swept() -> None:
    assert sorted(p.name for p in SHAPES.glob("*.ics")) == sorted(FEEDS)


def test_the_corpus_readme_names_every_fixture() -> None:
    """Each file by name, or by the pattern the README gives (`meeting_<id>.json`, a
    second page as `→ page2.json`)."""
    readme = (SHAPES / "README.md").read_text()
    files = [p for p in SHAPES.rglob("*") if p.is_file() and p.name != "README.md"]

    def named(name: str) -> bool:
        pattern = re.sub(r"\d{6,}", "<id>", name)
        second = name.endswith(".page2.json") and "→ `page2.json`" in readme
        return f"`{name}`" in readme or f"`{pattern}`" in readme or second

    assert [str(p.relative_to(SHAPES)) for p in files if not named(p.name)] == []


@pytest.mark.parametrize("name", sorted(FEEDS))
def test_calendar_feed(tmp_path: Path, name: str) -> None:
    kind, zone, expect = FEEDS[name]
    run = feed(tmp_path, name, kind=kind, zone=zone)
    if kind == "therapynotes":
        config = tmp_path / "config.toml"
        config.write_text(
            config.read_text().replace(
                'display_name = "Dr. Chen"', f'display_name = "Dr. Chen"\nlink = "{PORTAL}"'
            )
        )
    sweep(run, expect)


@pytest.mark.parametrize("name", sorted(FEEDS))
def test_calendar_feed_as_exported_bytes(tmp_path: Path, name: str) -> None:
    """The fixtures are stored with LF line ends for reading; exporters send CRLF (RFC
    5545), Outlook's saved files with a UTF-8 byte-order mark too. Same plan, same
    stderr, either way."""
    kind, zone, _expect = FEEDS[name]
    plans = []
    for variant, prefix, newline in (("lf", b"", b"\n"), ("crlf", b"\xef\xbb\xbf", b"\r\n")):
        (tmp_path / variant).mkdir()
        run = feed(tmp_path / variant, name, kind=kind, zone=zone)
        if kind == "therapynotes":
            config = tmp_path / variant / "config.toml"
            config.write_text(
                config.read_text().replace(
                    'display_name = "Dr. Chen"', f'display_name = "Dr. Chen"\nlink = "{PORTAL}"'
                )
            )
        body = (SHAPES / name).read_bytes()
        assert b"\r" not in body
        (tmp_path / variant / "feed.ics").write_bytes(prefix + body.replace(b"\n", newline))
        synced = run.cli("sync")
        plans.append((synced.exit_code, synced.stderr, planned(run)))
    assert plans[0] == plans[1]


def calendly(router: respx.MockRouter) -> None:
    calendly_api(router, [])


def zoom(router: respx.MockRouter) -> None:
    zoom_api(router, [], "zoom/meetings_upcoming.json")


def fhir(router: respx.MockRouter) -> None:
    router.get("https://fhir.example.org/r4/Appointment").mock(
        side_effect=answer("fhir/searchset.json")
    )


CALENDLY_SOURCE = """
    [source]
    kind = "calendly"

    [therapists."maya.chen@example.org"]
    display_name = "Dr. Chen"
    """

# API sources: (config, secrets, the fixtures' router, expectation).
APIS: dict[str, tuple[str, dict[str, str], Callable[[respx.MockRouter], None], Expect]] = {
    # Seven events, one per location type plus the host-by-URI one; the physical one is
    # listed without texts; the Zoom group has two invitees.
    "calendly": (
        CALENDLY_SOURCE,
        {"CALENDLY_TOKEN": "calendly-test-token-not-real"},
        calendly,
        Expect(7, 6, 14, 7),
    ),
    # A topic meeting, a registration meeting (two registrants), two occurrences.
    "zoom": (ZOOM_SOURCE, ZOOM_ENV, zoom, Expect(4, 4, 10, 5)),
    # The booked appointment only: the proposed request and the clinicians' discussion
    # are not sessions and are not listed.
    "fhir": (FHIR_SOURCE, {"FHIR_TOKEN": "fhir-test-token-not-real"}, fhir, Expect(1, 1, 2, 1)),
}


@pytest.mark.parametrize("name", sorted(APIS))
def test_api_source(tmp_path: Path, name: str) -> None:
    source, env, serve, expect = APIS[name]
    run = practice(tmp_path, source)
    run.env = env
    with respx.mock(assert_all_called=False) as router:
        serve(router)
        sweep(run, expect)
