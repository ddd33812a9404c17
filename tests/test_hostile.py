"""Issue 12's leftovers, each driven through the CLI as cron would run it: a zone that
cannot be resolved, look-alike links, contact details and escapes from the schedule,
URLs in names, hostile paths, an emptied listing, a lock file removed under a run."""

from __future__ import annotations

import json

from tests.conftest import Practice, appointment, client

T0 = "2026-11-20T12:00:00Z"
DUE_24H = "2026-11-23T20:00:00Z"
DUE_30M = "2026-11-24T19:30:00Z"


def test_an_unknown_participant_zone_holds_their_messages_under_attention(practice: Practice):
    practice.schedule(
        appointment(
            participants=[
                client(timezone="Mars/Olympus_Mons"),
                client(id="cl-2", mobile="+1 617 555 0102", email="b@example.org"),
            ]
        )
    )
    practice.ok(T0, "sync")
    practice.ok(DUE_24H, "run")
    assert [m["to"] for m in practice.sms()] == ["+16175550102"]  # the other client only
    [item] = [a for a in practice.status(DUE_24H)["attention"] if a["kind"] == "bad_timezone"]
    assert item["participant"] == "cl-1"
    assert "'Mars/Olympus_Mons' is not an IANA zone name" in item["reason"]
    late = practice.cli(DUE_30M, "run")
    assert late.exit_code == 1
    assert "reminder-24h sms for apt-1001 given up: time zone 'Mars/Olympus_Mons'" in late.stderr
    assert len(practice.sms()) == 2  # the other client's final text; never cl-1's


def test_dot_segments_cannot_smuggle_a_personal_room(practice: Practice):
    for i, link in enumerate(
        [
            "https://us02web.zoom.us/j/../my/drchen",
            "https://us02web.zoom.us/j/%2e%2e/my/drchen",
            "https://us02web.zoom.us/./my/drchen",
        ]
    ):
        practice.schedule(appointment(link=link))
        now = f"2026-11-2{i}T12:00:00Z"
        practice.ok(now, "sync")
        [item] = [a for a in practice.status(now)["attention"] if a["kind"] == "link"]
        assert "personal meeting room" in item["reason"], link
    practice.ok(DUE_24H, "run")
    assert practice.sms() == []


def test_an_out_of_range_date_or_nan_is_one_skipped_record_and_run_still_sends(practice):
    practice.schedule(
        appointment(),
        appointment(id="apt-2", start="9999-12-31T23:00:00-05:00"),
        {**appointment(id="apt-3"), "updated_at": "0001-01-01T00:00:00+05:00"},
        {**appointment(id="apt-4"), "end": "9999-12-31T23:59:59-05:00"},
    )
    text = (practice.root / "appointments.json").read_text()
    (practice.root / "appointments.json").write_text(
        text.replace('"email": "alex@example.org"', '"email": -Infinity', 1)
        .replace('"apt-1001"', '"apt-5"', 1)
        .rstrip()[:-1]
        + "," + json.dumps(appointment(id="apt-1001")) + "]"
    )
    result = practice.cli(DUE_24H, "run")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert "(and 3 more; see `linkcli status`)" in result.stderr
    assert len(practice.sms()) == 1  # apt-1001's reminder went
    reasons = [a["reason"] for a in practice.status(DUE_24H)["attention"]]
    assert any("email is -inf, not a value" in r for r in reasons)
    assert sum("out of range" in r for r in reasons) == 3
