"""The contacts directory: CSV loading with line-precise errors, title matching, the join."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from linkcli.core.contacts import Directory, parse_directory
from linkcli.core.model import Appointment, Participant, Therapist
from linkcli.errors import ConfigError
from linkcli.sources.base import Listing
from linkcli.sources.contacts import join_listing, load_directory

FIXTURES = Path(__file__).parent / "fixtures" / "contacts"
HEADER = "client,name,email,mobile,channels,timezone,sms_consent\n"
START = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
DR_CHEN = Therapist("th-1", "Maya Chen", "Dr. Chen")


def directory(*rows: str) -> Directory:
    return parse_directory(HEADER + "".join(r + "\n" for r in rows))


def appointment(
    *participants: Participant,
    aid: str = "apt-1",
    status: str = "scheduled",
    fmt: str = "telehealth",
) -> Appointment:
    return Appointment(
        id=aid, status=status, start=START, therapist=DR_CHEN, participants=participants, format=fmt
    )


def named(text: str) -> Participant:
    """A participant as a calendar feed gives it: only the title text."""
    return Participant(id="", name=text)


# --- loading ---------------------------------------------------------------------------


def test_fixture_directory_loads() -> None:
    d = load_directory(FIXTURES / "contacts.csv")
    assert [c.client for c in d.contacts] == ["cl-1", "cl-2", "cl-3", "cl-4", "cl-5"]
    alex = d.get("cl-1")
    assert alex is not None
    assert (alex.name, alex.email, alex.mobile, alex.timezone, alex.sms_consent) == (
        "Alex Rivera",
        "alex@example.org",
        "617-555-0101",
        "America/Chicago",
        True,
    )
    assert d.get("cl-4") is not None and d.get("cl-4").channels == "both"  # empty = both
    assert d.where == "contacts.csv"


def test_bad_channels_value_names_file_and_line() -> None:
    with pytest.raises(ConfigError) as err:
        load_directory(FIXTURES / "bad-channels.csv")
    message = err.value.message
    assert "bad-channels.csv" in message
    assert "line 3: channels 'sms' is not one of email, text, both, none" in message
    assert err.value.exit_code == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "client,name,email,mobile\ncl-1,Alex Rivera,a@example.org,\n",
            "line 1: the header lacks column(s) channels, timezone",
        ),
        (
            HEADER + "cl-1,Alex Rivera,,,both,,\ncl-2,Sam Lee,,,,,\ncl-1,Alex R,,,,,\n",
            "line 4: client 'cl-1' is already on line 2",
        ),
        (HEADER + ",Alex Rivera,,,both,,\n", "line 2: client is empty"),
        (
            HEADER + "cl-1,Alex Rivera,,,both,Mars/Olympus,\n",
            "line 2: timezone 'Mars/Olympus' is not an IANA time zone",
        ),
        (
            HEADER + "cl-1,Alex Rivera,,,both,,maybe\n",
            "line 2: sms_consent 'maybe' is not yes, no, true or false",
        ),
        (HEADER + "cl-1,Rivera, Alex,,,both,,\n", "line 2: 8 fields but the header has 7"),
        ("", "line 1: the file is empty"),
    ],
)
def test_malformed_directory_is_a_config_error(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_directory(path)
    assert str(path) in err.value.message
    assert expected in err.value.message


def test_every_bad_line_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(HEADER + "cl-1,A B,,,sms,,\ncl-2,C D,,,both,,\ncl-3,E F,,,mail,,\n")
    with pytest.raises(ConfigError) as err:
        load_directory(path)
    assert [p.split(":")[0] for p in err.value.problems] == ["line 2", "line 4"]


def test_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="contacts file .*nope.csv does not exist"):
        load_directory(tmp_path / "nope.csv")


def test_excel_csv_with_bom_blank_lines_and_header_case(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(
        "\ufeffClient, Name ,Email,Mobile,Channels,Timezone\n"
        "cl-1,  Alex   Rivera ,alex@example.org,617-555-0101,TEXT,\n"
        ",,,,,\n\n".encode()
    )
    [alex] = load_directory(path).contacts
    assert (alex.client, alex.name, alex.channels, alex.line) == ("cl-1", "Alex Rivera", "text", 2)


# --- matching a title ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "clients"),
    [
        ("Alex Rivera", ["cl-1"]),
        ("alex rivera appointment", ["cl-1"]),
        ("Session: ALEX  RIVERA (video)", ["cl-1"]),
        ("Alexandra Rivera", []),  # whole words only
        ("Alex Riverai", []),
        ("A.R.", []),  # initials name nobody
        ("Alex Rivera Jr. - intake", ["cl-9"]),  # the longer name wins over the one inside it
        ("Sean O’Brien", ["cl-3"]),  # a typographic apostrophe still matches
        ("Alex Rivera & Sean O'Brien", ["cl-1", "cl-3"]),
    ],
)
def test_title_matching(title: str, clients: list[str]) -> None:
    d = directory(
        "cl-1,Alex Rivera,,,,,", "cl-9,Alex Rivera Jr.,,,,,", "cl-3,Sean O'Brien,,,,,", "cl-4,,,,,,"
    )
    assert [c.client for c in d.match_title(title)] == clients


# --- the join ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channels", "consent", "sms", "email"),
    [
        ("both", "", None, None),
        ("", "", None, None),
        ("email", "", False, None),
        ("text", "", None, False),
        ("none", "", False, False),
        ("both", "no", False, None),
        ("text", "false", False, False),
        ("both", "yes", None, None),
    ],
)
def test_channel_preferences_apply_to_title_matches(
    channels: str, consent: str, sms: bool | None, email: bool | None
) -> None:
    d = directory(f"cl-1,Alex Rivera,alex@example.org,617-555-0101,{channels},,{consent}")
    listing = join_listing(Listing([appointment(named("Alex Rivera Appointment"))]), d)
    [p] = listing.appointments[0].participants
    assert (p.id, p.name, p.email, p.mobile) == (
        "cl-1",
        "Alex Rivera",
        "alex@example.org",
        "617-555-0101",
    )
    assert (p.sms_opt_in, p.email_opt_in) == (sms, email)
    assert listing.problems == []


def test_id_match_fills_missing_details_and_overrides_preferences() -> None:
    d = directory("cl-1,Alex Rivera,alex@example.org,617-555-0101,email,America/Chicago,")
    source = Participant(
        id="cl-1", name="", email="alex.new@example.org", sms_opt_in=True, email_opt_in=True
    )
    [appt] = join_listing(Listing([appointment(source)]), d).appointments
    [p] = appt.participants
    assert p.email == "alex.new@example.org"  # the source's own detail wins
    assert (p.name, p.mobile, p.timezone) == ("Alex Rivera", "617-555-0101", "America/Chicago")
    assert (p.sms_opt_in, p.email_opt_in) == (False, True)  # "email" closes texts everywhere


def test_directory_never_reopens_a_channel_the_source_closed() -> None:
    d = directory("cl-1,Alex Rivera,alex@example.org,617-555-0101,both,,yes")
    source = Participant(id="cl-1", name="Alex Rivera", sms_opt_in=False)
    [appt] = join_listing(Listing([appointment(source)]), d).appointments
    assert appt.participants[0].sms_opt_in is False


def test_unknown_ids_pass_through_untouched() -> None:
    d = directory("cl-1,Alex Rivera,alex@example.org,,both,,")
    source = Participant(id="zoom-7", name="Guest", email="guest@example.org")
    [appt] = join_listing(Listing([appointment(source)]), d).appointments
    assert appt.participants == (source,)


def test_title_matching_no_contact_is_a_problem_and_the_session_stays() -> None:
    d = directory("cl-1,Alex Rivera,alex@example.org,,both,,")
    listing = Listing(
        [appointment(named("A.R."), aid="sp-1")],
        problems=["earlier"],
        skipped_ids={"sp-9"},
        complete=False,
    )
    joined = join_listing(listing, d)
    assert [a.id for a in joined.appointments] == ["sp-1"]
    assert joined.appointments[0].participants == ()
    assert joined.problems == [
        "earlier",
        "appointment 'sp-1': title 'A.R.' matches no contact in contacts.csv",
    ]
    assert joined.skipped_ids == {"sp-9"} and joined.complete is False
    assert listing.problems == ["earlier"]  # a new listing; the source's is untouched


def test_title_matching_several_contacts_names_them() -> None:
    d = directory("cl-1,Alex Rivera,,,,,", "cl-7,Alex Rivera,,,,,", "cl-2,Jordan Lee,,,,,")
    joined = join_listing(Listing([appointment(named("Alex Rivera"), aid="sp-2")]), d)
    assert joined.appointments[0].participants == ()
    assert joined.problems == [
        "appointment 'sp-2': title 'Alex Rivera' matches several contacts in contacts.csv: "
        "Alex Rivera (cl-1), Alex Rivera (cl-7)"
    ]


@pytest.mark.parametrize(
    ("status", "fmt"), [("canceled", "telehealth"), ("scheduled", "in_person")]
)
def test_no_problem_line_for_sessions_that_get_no_messages(status: str, fmt: str) -> None:
    joined = join_listing(
        Listing([appointment(named("Lunch"), status=status, fmt=fmt)]), directory()
    )
    assert joined.problems == [] and joined.appointments[0].participants == ()
