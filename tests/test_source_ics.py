"""Calendar-feed sources (ics, simplepractice, therapynotes): feeds on disk and over HTTP
(respx, never the network), recurrence across DST, failures, and one run through the CLI."""

from __future__ import annotations

import json
import shutil
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from typer.testing import CliRunner

from linkcli.cli import app
from linkcli.compose import effective_link
from linkcli.config import Config, load_config
from linkcli.errors import ConfigError, SourceError
from linkcli.sources.base import Listing, Window
from linkcli.sources.ics import build
from tests.conftest import write_config as conftest_write_config

FIXTURES = Path(__file__).parent / "fixtures" / "ics"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
WINDOW = Window(datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC))
SP_LINK = "https://video.simplepractice.com/appt-5f2c9e1a7b3d4c60a1e2f3b4c5d6e7f8"
SERIES_LINK = "https://video.simplepractice.com/appt-0a1b2c3d4e5f60718293a4b5c6d7e8f9"
SERIES = "sp-series-b81d07@simplepractice.com"
FEED_1 = "https://calendar.example.org/feeds/th-1/s3cr3t-token.ics"
FEED_2 = "https://calendar.example.org/feeds/th-2/0th3r-token.ics"


def make_config(
    tmp_path: Path, kind: str, feeds: str, extra: str = "", contacts: bool = True
) -> Config:
    """A real config file for a feed source, loaded as the CLI loads it."""
    parts = [
        f"""\
        [practice]
        name = "Riverside Therapy"
        timezone = "America/New_York"

        [source]
        kind = "{kind}"
        feeds = {feeds}

        [therapists."th-1"]
        name = "Maya Chen"
        display_name = "Dr. Chen"
        """,
        extra,
    ]
    if contacts:
        parts.append('\n[contacts]\npath = "contacts.csv"\n')
    return load_config(conftest_write_config(tmp_path, *parts), {})


def read(config: Config, window: Window = WINDOW) -> Listing:
    return build(config, {}, NOW).fetch(window)


def local_feed(name: str = "simplepractice-th-1.ics", therapist: str = "th-1") -> str:
    return f'[{{ therapist = "{therapist}", url = "{FIXTURES / name}" }}]'


def by_id(listing: Listing) -> dict[str, Any]:
    return {a.id: a for a in listing.appointments}


def calendar(*events: str, head: str = "") -> bytes:
    body = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n" + head
    body += "".join(
        "BEGIN:VEVENT\n" + textwrap.dedent(e).strip() + "\nEND:VEVENT\n" for e in events
    )
    return (body + "END:VCALENDAR\n").replace("\n", "\r\n").encode()


def event(uid: str, start: str = "20261124T150000Z", **props: str) -> str:
    lines = [f"UID:{uid}", f"DTSTART:{start}", "SUMMARY:Alex Rivera"]
    lines += [f"{k.replace('_', '-')}:{v}" for k, v in props.items()]
    return "\n".join(lines)


# --- SimplePractice ------------------------------------------------------------------------


def test_simplepractice_feed_lists_sessions(tmp_path: Path) -> None:
    listing = read(make_config(tmp_path, "simplepractice", local_feed()))
    appts = by_id(listing)
    alex = appts["sp-appt-7f3a9c2e41@simplepractice.com"]
    assert alex.start == datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # 10:00 EST
    assert alex.end == datetime(2026, 11, 24, 15, 50, tzinfo=UTC)
    assert (alex.status, alex.format) == ("scheduled", "telehealth")
    # The video link, never the clinician's secure.simplepractice.com page in DESCRIPTION.
    assert alex.telehealth_url == SP_LINK
    assert alex.therapist.id == "th-1" and alex.therapist.shown == "Dr. Chen"
    assert [(p.id, p.name) for p in alex.participants] == [("", "Alex Rivera")]
    assert alex.updated_at == datetime(2026, 11, 18, 9, 30, tzinfo=UTC)

    sam = appts["sp-appt-c4d5e6f708@simplepractice.com"]
    assert sam.status == "canceled"
    casey = appts["sp-appt-1122aabbcc@simplepractice.com"]
    assert (casey.format, casey.telehealth_url) == ("in_person", None)  # street address
    assert not any("allday" in aid for aid in appts)  # an all-day block is not a session
    assert listing.problems == [] and listing.complete


def test_weekly_series_with_exdate_and_moved_session_across_dst(tmp_path: Path) -> None:
    listing = read(make_config(tmp_path, "simplepractice", local_feed()))
    series = {aid: a for aid, a in by_id(listing).items() if aid.startswith(SERIES)}
    assert {aid: a.start.isoformat() for aid, a in series.items()} == {
        f"{SERIES}/20261019T140000Z": "2026-10-19T14:00:00+00:00",  # 10:00 EDT
        # 10-26 is an EXDATE: no session
        f"{SERIES}/20261102T150000Z": "2026-11-02T15:00:00+00:00",  # 10:00 EST after DST
        # moved from Mon 11-09 10:00 to Tue 11-10 13:00: same id, new start
        f"{SERIES}/20261109T150000Z": "2026-11-10T18:00:00+00:00",
        f"{SERIES}/20261116T150000Z": "2026-11-16T15:00:00+00:00",
        f"{SERIES}/20261123T150000Z": "2026-11-23T15:00:00+00:00",
    }
    for appt in series.values():
        assert appt.telehealth_url == SERIES_LINK and appt.format == "telehealth"
        assert appt.end is not None and (appt.end - appt.start).total_seconds() == 50 * 60
        assert appt.participants[0].name == "Jordan Lee Appointment"


def test_window_bounds_are_half_open(tmp_path: Path) -> None:
    config = make_config(tmp_path, "simplepractice", local_feed())
    at = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
    inside = read(config, Window(at, datetime(2026, 11, 3, tzinfo=UTC)))
    assert [a.id for a in inside.appointments] == [f"{SERIES}/20261102T150000Z"]
    assert read(config, Window(datetime(2026, 11, 1, tzinfo=UTC), at)).appointments == []


# --- TherapyNotes -------------------------------------------------------------------------


def test_therapynotes_feed_uses_the_therapists_fixed_link(tmp_path: Path) -> None:
    config = make_config(
        tmp_path,
        "therapynotes",
        local_feed("therapynotes-th-2.ics", "th-2"),
        extra='[therapists."th-2"]\nname = "Riley Park"\n'
        'link = "https://www.therapyportal.com/p/riverside/waiting-room/park"\n',
    )
    appts = by_id(read(config))
    tele = appts["TN-20261124-000417"]
    # The DESCRIPTION's therapynotes.com page is the clinician's, never the client's link.
    assert (tele.format, tele.telehealth_url) == ("telehealth", None)
    assert tele.therapist.name == "Riley Park"
    assert effective_link(config, tele) == (
        "https://www.therapyportal.com/p/riverside/waiting-room/park"
    )
    assert appts["TN-20261125-000418"].format == "in_person"  # LOCATION "Main Office"


def test_therapynotes_without_a_therapist_link_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r'set \[therapists."th-2"\] link'):
        make_config(tmp_path, "therapynotes", local_feed("therapynotes-th-2.ics", "th-2"))


# --- configuration ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("feeds", "extra", "contacts", "expected"),
    [
        (local_feed(), "", False, "contacts.path: missing"),
        ("[]", "", True, "source.feeds (line 7): missing"),
        (
            local_feed()[:-1] + ', { therapist = "th-1", url = "b.ics" }]',
            "",
            True,
            "therapist 'th-1' has two feeds",
        ),
        ('[{ url = "a.ics" }]', "", True, "therapist is missing"),
        (
            '[{ therapist = "th-1", url = "ftp://example.org/a.ics" }]',
            "",
            True,
            "must be an https URL",
        ),
    ],
)
def test_feed_settings_are_checked(
    tmp_path: Path, feeds: str, extra: str, contacts: bool, expected: str
) -> None:
    with pytest.raises(ConfigError) as err:
        build(make_config(tmp_path, "simplepractice", feeds, extra, contacts), {}, NOW)
    assert expected in err.value.message


def test_relative_feed_path_is_read_from_the_config_folder(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "therapynotes-th-2.ics", tmp_path / "th-1.ics")
    config = make_config(tmp_path, "ics", '[{ therapist = "th-1", url = "th-1.ics" }]')
    assert len(read(config).appointments) == 2


def test_missing_local_feed_fails_the_listing(tmp_path: Path) -> None:
    config = make_config(tmp_path, "ics", '[{ therapist = "th-1", url = "gone.ics" }]')
    with pytest.raises(SourceError, match="feed for therapist 'th-1': file .*gone.ics does not"):
        read(config)


# --- feeds over HTTP ---------------------------------------------------------------------


def two_feeds(tmp_path: Path) -> Config:
    return make_config(
        tmp_path,
        "simplepractice",
        f'[{{ therapist = "th-1", url = "{FEED_1}" }}, {{ therapist = "th-2", url = "{FEED_2}" }}]',
    )


def test_feeds_over_https_one_request_each(tmp_path: Path) -> None:
    body = (FIXTURES / "simplepractice-th-1.ics").read_bytes()
    other = calendar(event("th2-a", LOCATION="https://us02web.zoom.us/j/85512345678"))
    with respx.mock(assert_all_called=True) as router:
        one = router.get(FEED_1).respond(
            200, content=body, headers={"Content-Type": "text/calendar"}
        )
        two = router.get(FEED_2).respond(200, content=other)
        source = build(two_feeds(tmp_path), {}, NOW)
        listing = source.fetch(WINDOW)
    assert one.call_count == 1 and two.call_count == 1 and source.requests == 2
    assert by_id(listing)["th2-a"].therapist.id == "th-2"
    assert by_id(listing)["th2-a"].telehealth_url == "https://us02web.zoom.us/j/85512345678"
    assert len(listing.appointments) == 9


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.Response(500, text="oops"), "HTTP 500 from calendar.example.org"),
        (httpx.Response(404), "the feed address may have been reset"),
        (
            httpx.Response(200, text="<html><body>Please sign in</body></html>"),
            "expected a calendar (BEGIN:VCALENDAR)",
        ),
        (httpx.Response(200, text=""), "got an empty body"),
        (
            httpx.Response(200, text="BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x"),
            "not a readable calendar",
        ),
        (
            httpx.Response(200, text="BEGIN:VCALENDAR\r\n\x00\x01 garbage }}}\r\n"),
            "not a readable calendar",
        ),
    ],
)
def test_a_bad_feed_fails_the_whole_listing(
    tmp_path: Path, response: httpx.Response, expected: str
) -> None:
    body = (FIXTURES / "simplepractice-th-1.ics").read_bytes()
    with respx.mock() as router:
        router.get(FEED_1).respond(200, content=body)
        router.get(FEED_2).mock(return_value=response)
        with pytest.raises(SourceError) as err:
            read(two_feeds(tmp_path))
    message = err.value.message
    assert message.startswith("feed for therapist 'th-2': ")
    assert expected in message and "nothing was changed" in message
    assert "0th3r-token" not in message  # a feed URL is a secret: only its host is named
    assert err.value.exit_code == 3


def test_plain_http_only_for_a_loopback_feed(tmp_path: Path) -> None:
    local = "http://127.0.0.1:8765/th-1.ics"
    config = make_config(tmp_path, "ics", f'[{{ therapist = "th-1", url = "{local}" }}]')
    with respx.mock() as router:
        router.get(local).respond(200, content=calendar(event("a")))
        assert [a.id for a in read(config).appointments] == ["a"]
    # An https feed that redirects to plain http is refused before the hop is made.
    with respx.mock(assert_all_called=False) as router:
        router.get(FEED_1).respond(302, headers={"Location": "http://feeds.example.org/x"})
        router.get(FEED_2).respond(200, content=calendar())
        with pytest.raises(SourceError, match="redirected to a plain-http address"):
            read(two_feeds(tmp_path))


def test_timeout_fails_the_listing(tmp_path: Path) -> None:
    with respx.mock(assert_all_called=False) as router:
        router.get(FEED_1).mock(side_effect=httpx.ReadTimeout("slow"))
        router.get(FEED_2).respond(200, content=calendar())
        with pytest.raises(SourceError, match="th-1': timed out reading calendar.example.org"):
            read(two_feeds(tmp_path))


# --- one bad event -------------------------------------------------------------------------


def test_malformed_events_are_skipped_and_the_rest_listed(tmp_path: Path) -> None:
    listing = read(make_config(tmp_path, "ics", local_feed("malformed-events.ics")))
    assert [a.id for a in listing.appointments] == ["sp-appt-fine@simplepractice.com"]
    assert listing.problems == [
        "feed for therapist 'th-1': record 'sp-appt-nostart@simplepractice.com' skipped: "
        "DTSTART is missing",
        "feed for therapist 'th-1': record 'sp-appt-badday@simplepractice.com' skipped: "
        "DTSTART '20261131T150000Z' is not a valid date or date-time",
    ]
    assert listing.skipped_ids == {
        "sp-appt-nostart@simplepractice.com",
        "sp-appt-badday@simplepractice.com",
    }
    assert listing.complete  # both ids are kept, so nothing else is held back


def test_broken_series_master_holds_back_every_vanish(tmp_path: Path) -> None:
    feed = tmp_path / "feed.ics"
    feed.write_bytes(
        calendar(
            event("weekly", "20261102T150000Z", RRULE="FREQ=WEEKLY;BYDAY=XX"),
            event("single"),
        )
    )
    listing = read(make_config(tmp_path, "ics", f'[{{ therapist = "th-1", url = "{feed}" }}]'))
    assert [a.id for a in listing.appointments] == ["single"]
    [problem] = listing.problems
    assert problem.startswith("feed for therapist 'th-1': record 'weekly' skipped: ")
    assert problem.endswith("sessions missing from the feeds are not treated as cancelled")
    assert listing.complete is False  # its sessions' ids cannot be named, so keep them all


def test_broken_override_skips_only_that_session(tmp_path: Path) -> None:
    feed = tmp_path / "feed.ics"
    feed.write_bytes(
        calendar(
            event("weekly", "20261102T150000Z", RRULE="FREQ=WEEKLY;COUNT=3"),
            "UID:weekly\nRECURRENCE-ID:20261109T150000Z\nDTSTART:20261131T150000Z\nSUMMARY:x",
        )
    )
    listing = read(make_config(tmp_path, "ics", f'[{{ therapist = "th-1", url = "{feed}" }}]'))
    assert [a.id for a in listing.appointments] == [
        "weekly/20261102T150000Z",
        "weekly/20261116T150000Z",
    ]
    assert listing.skipped_ids == {"weekly/20261109T150000Z"} and listing.complete


# --- generic feeds -------------------------------------------------------------------------


def test_generic_feed_links_formats_and_zones(tmp_path: Path) -> None:
    feed = tmp_path / "feed.ics"
    feed.write_bytes(
        calendar(
            # Google-style: the Meet link after a help link in DESCRIPTION.
            event(
                "meet",
                DESCRIPTION="Help: https://support.google.com/a/answer/1\\nJoin: "
                "https://meet.google.com/abc-defg-hij.",
            ),
            event("office", LOCATION="Office 2"),
            event("video-word", LOCATION="Zoom (link sent separately)"),
            event("no-location"),
            event("http-only", LOCATION="http://zoom.us/j/1"),
            event("floating", "20261124T100000"),  # no zone: the calendar's or the practice's
            event("weekly-floating", "20261026T100000", RRULE="FREQ=WEEKLY;COUNT=2"),
            event("tentative", STATUS="TENTATIVE"),
        )
    )
    appts = by_id(read(make_config(tmp_path, "ics", f'[{{ therapist = "th-1", url = "{feed}" }}]')))
    assert appts["meet"].telehealth_url == "https://meet.google.com/abc-defg-hij"
    assert appts["office"].format == "in_person"
    assert (appts["video-word"].format, appts["video-word"].telehealth_url) == ("telehealth", None)
    assert appts["no-location"].format == "telehealth"
    assert appts["http-only"].format == "telehealth"  # the core then refuses "no link"
    assert appts["floating"].start == datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    assert appts["tentative"].status == "scheduled"
    assert [a.start.hour for aid, a in appts.items() if aid.startswith("weekly-floating/")] == [
        14,
        15,
    ]  # 10:00 New York wall time on both sides of the DST change


def test_x_wr_timezone_keeps_weekly_wall_time(tmp_path: Path) -> None:
    feed = tmp_path / "feed.ics"
    # Google exports UTC times meaning the X-WR-TIMEZONE wall clock: 10:00 New York.
    feed.write_bytes(
        calendar(
            event("g", "20261026T140000Z", RRULE="FREQ=WEEKLY;COUNT=2"),
            head="X-WR-TIMEZONE:America/New_York\n",
        )
    )
    appts = read(make_config(tmp_path, "ics", f'[{{ therapist = "th-1", url = "{feed}" }}]'))
    assert [a.start.isoformat() for a in appts.appointments] == [
        "2026-10-26T14:00:00+00:00",
        "2026-11-02T15:00:00+00:00",
    ]


def test_one_uid_in_two_feeds_is_listed_once(tmp_path: Path) -> None:
    with respx.mock() as router:
        router.get(FEED_1).respond(200, content=calendar(event("shared")))
        router.get(FEED_2).respond(200, content=calendar(event("shared")))
        listing = read(two_feeds(tmp_path))
    assert [(a.id, a.therapist.id) for a in listing.appointments] == [("shared", "th-1")]
    assert listing.problems == [
        "feed for therapist 'th-2': record 'shared' is also in the "
        "feed for therapist 'th-1'; listed once, under that one"
    ]


# --- through the CLI -------------------------------------------------------------------------


def test_simplepractice_end_to_end_through_the_cli(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "simplepractice-th-1.ics", tmp_path / "th-1.ics")
    (tmp_path / "contacts.csv").write_text(
        "client,name,email,mobile,channels,timezone\n"
        "cl-1,Alex Rivera,alex@example.org,617-555-0101,both,\n"
        "cl-4,Casey Morgan,casey@example.org,617-555-0104,both,\n"
    )
    config = tmp_path / "config.toml"
    config.write_text(
        textwrap.dedent("""\
        [practice]
        name = "Riverside Therapy"
        timezone = "America/New_York"

        [source]
        kind = "simplepractice"
        feeds = [{ therapist = "th-1", url = "th-1.ics" }]

        [therapists."th-1"]
        name = "Maya Chen"
        display_name = "Dr. Chen"

        [contacts]
        path = "contacts.csv"

        [sms]
        provider = "outbox"
        outbox_path = "outbox-sms.jsonl"

        [email]
        provider = "outbox"
        """)
    )
    env = {"LINKCLI_NOW": "2026-11-23T12:00:00Z", "LINKCLI_CONFIG": str(config)}
    runner = CliRunner()
    synced = runner.invoke(app, ["sync"], env=env)
    assert synced.exit_code == 0, synced.output
    # Jordan Lee is not in contacts.csv: said on stderr, kept for the operator.
    aid = f"{SERIES}/20261123T150000Z"
    assert (
        f"appointment '{aid}': title 'Jordan Lee Appointment' matches no contact in contacts.csv"
    ) in synced.stderr

    shown = runner.invoke(app, ["preview", "--json"], env=env)
    assert shown.exit_code == 0, shown.output
    [sms] = [
        m for m in json.loads(shown.stdout) if m["step"] == "reminder-24h" and m["channel"] == "sms"
    ]
    assert sms["appointment"] == "sp-appt-7f3a9c2e41@simplepractice.com"
    assert sms["participant"] == "cl-1"
    assert sms["recipient"] == "+1******0101"
    assert sms["due"] == "2026-11-23T15:00:00+00:00"
    assert sms["body"] == (
        f"Reminder: Dr. Chen session tomorrow at 10:00 AM. Join here: "
        f"{SP_LINK} Reply STOP to opt out."
    )
    assert (sms["encoding"], sms["segments"]) == ("GSM-7", 1)

    status = json.loads(runner.invoke(app, ["status", "--json"], env=env).stdout)
    reasons = [item["reason"] for item in status["attention"]]
    assert any("'Jordan Lee Appointment' matches no contact" in r for r in reasons)
