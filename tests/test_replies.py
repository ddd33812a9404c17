"""Replies to the practice number answered through the real CLI (DESIGN.md, "Replies and
the link on request"): Twilio under the real library, answered by the one fake
(tests/twilio_server.py) holding the clients' inbound messages; the clock moved with
LINKCLI_NOW."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.conftest import TWILIO_ENV, ZOOM, Practice, appointment, client
from tests.twilio_server import FakeTwilio

PRACTICE_NUMBER = "+16175550100"
ALEX = "+16175550101"
DAY_BEFORE = "2026-11-23T20:00:00Z"  # the 24 h text to Alex (session 15:00 EST = 20:00Z)


def twilio(practice: Practice, extra: str = "") -> None:
    practice.write_config(extra, sms=f'provider = "twilio"\nfrom_number = "{PRACTICE_NUMBER}"')
    practice.extra_env.update(TWILIO_ENV)


def texts(api: FakeTwilio) -> list[tuple[str, str]]:
    return [(m["To"], m["Body"]) for m in api.posted]


def reply(api: FakeTwilio, number: str, body: str, when: str) -> None:
    api.inbound_reply(number, body, PRACTICE_NUMBER, datetime.fromisoformat(when))


def reminded(practice: Practice, api: FakeTwilio) -> None:
    """Synced, and the 24 h text went to Alex: linkcli has texted the number."""
    practice.ok("2026-11-22T12:00:00Z", "sync")
    practice.ok(DAY_BEFORE, "run")
    assert [to for to, _ in texts(api)] == [ALEX]


@pytest.fixture
def alex(practice: Practice, twilio_api: FakeTwilio) -> Practice:
    twilio(practice)
    reminded(practice, twilio_api)
    return practice


def test_link_within_the_window_gets_the_current_link_at_once(alex, twilio_api):
    reply(twilio_api, ALEX, " link? ", "2026-11-24T14:00:10+00:00")
    alex.ok("2026-11-24T14:01:00Z", "run")
    assert texts(twilio_api)[1:] == [(ALEX, f"Your Dr. Chen session today at 3:00 PM: {ZOOM}")]
    status = alex.status("2026-11-24T14:02:00Z")
    assert status["replies"] == [
        {
            "time": "2026-11-24T14:00:10+00:00",
            "time_local": "Tue Nov 24, 9:00 AM EST",
            "number": "+1******0101",
            "appointment": "apt-1001",
            "answered": True,
            "kind": "link",
            "text": "link?",
        }
    ]
    assert [i for i in status["attention"] if i["kind"] == "reply"] == []


def test_exactly_once_across_two_runs(alex, twilio_api):
    reply(twilio_api, ALEX, "LINK", "2026-11-24T14:00:10+00:00")
    alex.ok("2026-11-24T14:01:00Z", "run")
    alex.ok("2026-11-24T14:01:00Z", "run")  # reads the same reply again (overlap)
    alex.ok("2026-11-24T14:12:00Z", "run")  # and again, past the rate limit
    assert len(twilio_api.posted) == 2


def test_link_with_no_session_says_nothing_about_any_session(practice, twilio_api):
    twilio(practice)
    reminded(practice, twilio_api)
    # After the session: nothing starts within link_ahead but a new one in 3 days.
    practice.schedule(appointment(), appointment("apt-2", start="2026-11-27T15:00:00-05:00"))
    practice.ok("2026-11-26T12:00:00Z", "sync")
    reply(twilio_api, ALEX, "Link", "2026-11-26T16:00:00+00:00")
    practice.cli("2026-11-26T16:00:30Z", "run")  # (exit 1: the 30 min text never went)
    assert texts(twilio_api)[1:] == [
        (ALEX, "No upcoming session found. Please contact Riverside Therapy.")
    ]
    [row] = practice.status("2026-11-26T16:01:00Z")["replies"]
    assert row["appointment"] is None and row["answered"] is True


def test_a_late_question_20_minutes_before_the_start_is_answered_once(alex, twilio_api):
    alex.ok("2026-11-24T19:30:00Z", "run")  # the 30 min text
    reply(twilio_api, ALEX, "where's the link??", "2026-11-24T19:40:00+00:00")
    alex.ok("2026-11-24T19:40:30Z", "run")
    assert texts(twilio_api)[2:] == [(ALEX, f"Your Dr. Chen session today at 3:00 PM: {ZOOM}")]
    # Once per session: a second question 15 minutes later goes to a human.
    reply(twilio_api, ALEX, "still cant find it", "2026-11-24T19:55:00+00:00")
    alex.ok("2026-11-24T19:55:30Z", "run")
    assert len(twilio_api.posted) == 3
    [item] = [i for i in alex.status("2026-11-24T19:56:00Z")["attention"] if i["kind"] == "reply"]
    assert item["appointment"] == "apt-1001"
    assert item["reason"].startswith('client +1******0101 texted "still cant find it"')


def test_a_question_hours_before_is_left_for_a_human(alex, twilio_api):
    reply(twilio_api, ALEX, "Running 5 min late", "2026-11-24T15:00:00+00:00")
    alex.ok("2026-11-24T15:00:30Z", "run")
    assert len(twilio_api.posted) == 1
    status = alex.status("2026-11-24T15:01:00Z")
    [item] = [i for i in status["attention"] if i["kind"] == "reply"]
    assert item["reason"] == (
        'client +1******0101 texted "Running 5 min late": not a request linkcli can answer'
    )
    assert status["replies"][0]["answered"] is False
    # Listed until the session has passed.
    later = alex.status("2026-11-24T21:00:00Z")
    assert [i for i in later["attention"] if i["kind"] == "reply"] == []


def test_at_most_one_answer_per_number_per_ten_minutes(alex, twilio_api):
    reply(twilio_api, ALEX, "LINK", "2026-11-24T14:00:00+00:00")
    alex.ok("2026-11-24T14:00:30Z", "run")
    reply(twilio_api, ALEX, "LINK", "2026-11-24T14:05:00+00:00")
    alex.ok("2026-11-24T14:05:30Z", "run")
    assert len(twilio_api.posted) == 2
    reply(twilio_api, ALEX, "LINK", "2026-11-24T14:11:00+00:00")
    alex.ok("2026-11-24T14:11:30Z", "run")
    assert len(twilio_api.posted) == 3


def test_an_opted_out_number_gets_no_answer(alex, twilio_api):
    reply(twilio_api, ALEX, "STOP", "2026-11-24T13:00:00+00:00")
    alex.ok("2026-11-24T13:00:30Z", "run")
    reply(twilio_api, ALEX, "LINK", "2026-11-24T14:00:00+00:00")
    alex.ok("2026-11-24T14:00:30Z", "run")
    assert len(twilio_api.posted) == 1
    kinds = [(r["kind"], r["answered"]) for r in alex.status("2026-11-24T14:01:00Z")["replies"]]
    assert kinds == [("link", False), ("opt-out", False)]


def test_a_shared_number_gets_the_session_it_was_last_texted_about(practice, twilio_api):
    twilio(practice)
    sam = client("cl-2", "Sam Rivera", email="sam@example.org", mobile=ALEX)
    other = "https://us02web.zoom.us/j/85599999999?pwd=Other"
    practice.schedule(
        appointment(),
        appointment("apt-2", start="2026-11-24T17:00:00-05:00", link=other, participants=[sam]),
    )
    practice.ok("2026-11-22T12:00:00Z", "sync")
    practice.ok(DAY_BEFORE, "run")  # Alex's 24 h text
    practice.ok("2026-11-23T22:00:00Z", "run")  # Sam's, the latest
    reply(twilio_api, ALEX, "LINK", "2026-11-24T14:00:00+00:00")
    practice.ok("2026-11-24T14:00:30Z", "run")
    assert texts(twilio_api)[-1] == (ALEX, f"Your Dr. Chen session today at 5:00 PM: {other}")


def test_a_shared_number_texted_about_both_at_once_gets_please_contact(practice, twilio_api):
    twilio(practice)
    sam = client("cl-2", "Sam Rivera", email="sam@example.org", mobile=ALEX)
    other = "https://us02web.zoom.us/j/85599999999?pwd=Other"
    practice.schedule(
        appointment(),
        appointment("apt-2", start="2026-11-24T15:00:00-05:00", link=other, participants=[sam]),
    )
    practice.ok("2026-11-22T12:00:00Z", "sync")
    practice.ok(DAY_BEFORE, "run")  # both 24 h texts in one run
    reply(twilio_api, ALEX, "LINK", "2026-11-24T14:00:00+00:00")
    practice.ok("2026-11-24T14:00:30Z", "run")
    assert texts(twilio_api)[-1] == (
        ALEX,
        "No upcoming session found. Please contact Riverside Therapy.",
    )
    [item] = [
        i for i in practice.status("2026-11-24T14:01:00Z")["attention"] if i["kind"] == "reply"
    ]
    assert "several clients" in item["reason"]


def test_group_session_answers_with_the_group_link(practice, twilio_api):
    twilio(practice)
    group = "https://us02web.zoom.us/j/85577777777?pwd=Group"
    jo = client("cl-3", "Jo Park", email="jo@example.org", mobile="+1 617 555 0103")
    practice.schedule(appointment("grp-1", link=group, participants=[client(), jo]))
    practice.ok("2026-11-22T12:00:00Z", "sync")
    practice.ok(DAY_BEFORE, "run")
    reply(twilio_api, "+16175550103", "link", "2026-11-24T14:00:00+00:00")
    practice.ok("2026-11-24T14:00:30Z", "run")
    assert texts(twilio_api)[-1] == (
        "+16175550103",
        f"Your Dr. Chen session today at 3:00 PM: {group}",
    )
    assert len(twilio_api.posted) == 3


def test_quiet_hours_hold_an_answer_until_morning(practice, twilio_api):
    twilio(practice)
    practice.schedule(appointment(start="2026-11-24T15:00:00-05:00"))
    reminded(practice, twilio_api)
    reply(twilio_api, ALEX, "LINK", "2026-11-24T03:00:00+00:00")  # 22:00 EST
    practice.ok("2026-11-24T03:00:30Z", "run")
    assert len(twilio_api.posted) == 1
    upcoming: list[dict[str, Any]] = practice.status("2026-11-24T03:01:00Z")["upcoming"]
    assert [(u["step"], u["waiting"]) for u in upcoming][0] == ("link-reply", "quiet hours")
    practice.ok("2026-11-24T13:00:00Z", "run")  # 08:00 EST
    assert texts(twilio_api)[1:] == [(ALEX, f"Your Dr. Chen session today at 3:00 PM: {ZOOM}")]


def test_answering_off_keeps_every_reply_for_a_human(practice, twilio_api):
    twilio(practice, "[replies]\nenabled = false\n")
    reminded(practice, twilio_api)
    reply(twilio_api, ALEX, "LINK", "2026-11-24T19:40:00+00:00")
    practice.ok("2026-11-24T19:40:30Z", "run")  # the final text is due: replies read
    assert [b for _, b in texts(twilio_api)][1].startswith("Your session with Dr. Chen")
    assert len(twilio_api.posted) == 2
    [item] = [
        i for i in practice.status("2026-11-24T19:41:00Z")["attention"] if i["kind"] == "reply"
    ]
    assert item["reason"].endswith("answering replies is off ([replies] enabled = false)")
