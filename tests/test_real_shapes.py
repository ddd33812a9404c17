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
import shutil
import textwrap
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from linkcli.cli import app
from linkcli.config import load_config
from linkcli.sources import ics
from linkcli.sources.base import Window
from tests.conftest import OUTBOX_CHANNELS

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

    def cli(self, *args: str, now: str | None = None) -> Any:
        env = {"LINKCLI_NOW": now or self.now, "LINKCLI_CONFIG": str(self.root / "config.toml")}
        return CliRunner().invoke(app, list(args), env=env)

    def sync(self) -> Any:
        result = self.cli("sync")
        assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
        return result

    def sessions(self) -> dict[str, dict[str, Any]]:
        """Planned texts per appointment: {id: {step: due, "to": ..., "bodies": [...]}}."""
        shown = self.cli("preview", "--json", "--days", "31")
        assert shown.exit_code == 0, shown.stderr
        out: dict[str, dict[str, Any]] = {}
        for item in json.loads(shown.stdout):
            if item["channel"] != "sms":
                continue
            entry = out.setdefault(item["appointment"], {"bodies": []})
            entry[item["step"]] = item["due"]
            entry["who"] = (item["participant"], item["recipient"])
            entry["bodies"].append(item["body"])
        return out

    def status(self) -> dict[str, Any]:
        return json.loads(self.cli("status", "--json").stdout)


def practice(tmp_path: Path, source: str, zone: str = "America/New_York", extra: str = "") -> Run:
    (tmp_path / "contacts.csv").write_text(CONTACTS)
    (tmp_path / "config.toml").write_text(
        textwrap.dedent(f"""\
            [practice]
            name = "Riverside Therapy"
            timezone = "{zone}"
            country = "US"
            """)
        + textwrap.dedent(source)
        + OUTBOX_CHANNELS
        + '\n[contacts]\npath = "contacts.csv"\n'
        + textwrap.dedent(extra)
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
    sessions: dict[str, dict[str, Any]],
    expected: dict[str, tuple[str, str, str]],
) -> None:
    """Exactly the expected sessions, each with its two texts at the right instants, to
    the right client and number, carrying the right link."""
    assert set(sessions) == set(expected)
    for aid, (start, client, link) in expected.items():
        got = sessions[aid]
        assert {k: got.get(k) for k in ("reminder-24h", "final-30m")} == texts_at(start), aid
        assert got["who"] == (client, f"+1******{CONTACTS_DIGITS[client]}"), aid
        assert all(link in body for body in got["bodies"]), (aid, got["bodies"])


CONTACTS_DIGITS = {
    line.split(",")[0]: line.split(",")[3][-4:] for line in CONTACTS.splitlines()[1:]
}


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
    assert any("at 12:30 PM" in body for body in sessions[OWA_JORDAN]["bodies"])
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
    # The first session (today 17:00 EDT) is inside its final text's window only.
    today = sessions.pop(f"{series}/20261027T210000Z")
    assert today["final-30m"] == "2026-10-27T20:30:00+00:00"
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
