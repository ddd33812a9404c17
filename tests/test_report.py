"""`linkcli report` on a known week: three sessions, two therapists, one late text and
one refused link, driven through `run` with the clock moved by LINKCLI_NOW; the figures
as JSON, as text, as an HTML page rendered by a real headless Chromium, and emailed
through a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import sqlite3
import struct
import subprocess
import zlib
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from linkcli.core.report import ReplyCount, ReportMessage, build_report, delivery_rate
from linkcli.store import Store
from tests.conftest import Practice, appointment, client

CHEN = {"id": "th-1", "name": "Maya Chen", "display_name": "Dr. Chen"}
OKAFOR = {"id": "th-2", "name": "Sam Okafor", "display_name": "Dr. Okafor"}
# Each run of the week: the first sync, apt-1's reminder (on time), apt-2's email
# reminder, apt-1's final text five minutes late, then apt-3's refused link given up.
RUNS = (
    ("2026-11-20T12:00:00Z", 0),
    ("2026-11-23T20:00:00Z", 0),
    ("2026-11-24T15:00:00Z", 0),
    ("2026-11-24T19:35:00Z", 0),
    ("2026-11-25T20:31:00Z", 1),
    ("2026-11-25T21:01:00Z", 1),
)
AFTER = "2026-11-26T12:00:00Z"
CHROMIUM = "/usr/bin/chromium"


def known_week(practice: Practice) -> None:
    practice.schedule(
        appointment("apt-1", "2026-11-24T15:00:00-05:00", therapist=CHEN),
        appointment(
            "apt-2",
            "2026-11-25T10:00:00-05:00",
            therapist=OKAFOR,
            participants=[client("cl-2", "Jordan Lee", "jordan@example.org", None)],
        ),
        appointment(
            "apt-3",
            "2026-11-25T16:00:00-05:00",
            therapist=CHEN,
            link="http://example.org/room",
            participants=[client("cl-3", "Casey Moss", "casey@example.org", "+1 617 555 0103")],
        ),
    )
    for now, code in RUNS:
        result = practice.cli(now, "run")
        assert result.exit_code == code, (now, result.stderr)


@pytest.fixture
def week(practice: Practice) -> Practice:
    known_week(practice)
    return practice


def test_the_figures_of_a_known_week(week):
    report = json.loads(week.ok(AFTER, "report", "--json").stdout)
    assert report["sessions"] == 2  # apt-3's messages never went
    assert report["messages"] == {
        "reminder-24h": {"sms": {"sent": 1, "failed": 1}, "email": {"sent": 2, "failed": 1}},
        "final-30m": {"sms": {"sent": 1, "failed": 1}},
    }
    assert report["messages_total"] == 7
    # apt-1's 24 h text went when due, its 30 min text five minutes late.
    assert report["on_time"] == 0.5
    assert report["link_texts"] == {"sent": 2, "on_time": 1}
    assert report["delivery_rate"] == {"sms": None, "email": None}  # the outbox has no receipts
    assert report["given_up"] == 3
    assert report["given_up_reasons"] == {"link refused: link is not https": 3}
    # No replies table on this branch yet: zero, not an error.
    assert (report["replies"], report["link_requests_answered"]) == (0, 0)
    assert (report["minutes_saved"], report["minutes_per_link_request"]) == (0, 4)
    assert report["write_back"] == {"written": 0, "pending": 0}
    per_day = {d["day"]: (d["sms"], d["email"]) for d in report["per_day"]}
    assert len(per_day) == 8  # 7 days ending at 07:00 local: eight calendar days touched
    assert per_day["2026-11-23"] == (1, 1) and per_day["2026-11-24"] == (1, 1)
    assert sum(s + e for s, e in per_day.values()) == 4
    chen, okafor = report["therapists"]["th-1"], report["therapists"]["th-2"]
    assert (chen["name"], chen["sessions"], chen["messages_total"]) == ("Dr. Chen", 1, 6)
    assert (chen["on_time"], chen["given_up"]) == (0.5, 3)
    assert (okafor["name"], okafor["sessions"], okafor["messages_total"]) == ("Dr. Okafor", 1, 1)
    assert okafor["on_time"] is None and okafor["given_up"] == 0
    assert report["period"]["from"] == "2026-11-19T12:00:00+00:00"
    assert report["period"]["days"] == 7


def test_a_shorter_period_counts_only_its_own_messages(week):
    report = json.loads(week.ok(AFTER, "report", "--days", "1", "--json").stdout)
    # Due in the last day: apt-3's final text (20:30 Z) was given up, nothing else.
    assert report["messages"] == {"final-30m": {"sms": {"failed": 1}}}
    assert report["sessions"] == 0 and report["on_time"] is None


def test_the_report_for_a_person_names_every_figure(week):
    out = week.ok(AFTER, "report").stdout
    assert out.startswith(
        "linkcli report: Riverside Therapy, 2026-11-19 to 2026-11-26 (7 days, America/New_York)"
    )
    for line in (
        "Sessions covered: 2",
        "Messages: 7",
        "Link texts sent within 2 min of due: 50% (1 of 2)",
        "Replies received: 0; link requests answered: 0",
        "Therapist minutes saved (estimate): 0 (0 link requests answered x 4 min each)",
        "Messages given up: 3",
        "  3 x link refused: link is not https",
        "  Dr. Chen (th-1): sessions 1, messages 6, on time 50%, given up 3, replies 0, "
        "link requests answered 0, minutes saved 0",
    ):
        assert line in out.splitlines(), line
    assert "555" not in out and "@" not in out


def test_reply_rows_count_as_replies_and_answered_link_requests(week):
    from linkcli.store import AnswerSend, ReplyRecord

    since, until = _week()
    at = until - timedelta(days=1)
    store = Store.open(week.db)
    try:
        assert store.reply_figures(since, until) == []  # the table exists, empty
        for sid, body, kind in (("SM1", "LINK", "link"), ("SM2", "late!", "other")):
            answer = None
            if kind == "link":
                answer = AnswerSend(
                    "reply-key", "no-session", "", "", 0, at, at + timedelta(hours=1), "-"
                )
            record = ReplyRecord(sid, at, "+16175550101", body, kind, None, None, None)
            assert store.record_reply(record, answer)
            assert not store.record_reply(record, answer)  # read again: recorded once
    finally:
        store.close()
    with sqlite3.connect(week.db) as db:  # the answer went (as dispatch's mark_sent does)
        db.execute("update replies set answered = 1 where answer_key = 'reply-key'")
    store = Store.open(week.db)
    try:
        [row] = store.reply_figures(since, until)
    finally:
        store.close()
    assert (row.received, row.link_answered) == (2, 1)
    figures = build_report([], [row], since, until, ZoneInfo("America/New_York"))
    assert figures["replies"] == 2 and figures["link_requests_answered"] == 1
    assert figures["minutes_saved"] == 4


def _week() -> tuple:
    from datetime import UTC, datetime, timedelta

    until = datetime(2026, 11, 26, 12, tzinfo=UTC)
    return until - timedelta(days=7), until


def test_a_new_practice_reports_zeros(practice):
    report = json.loads(practice.ok(AFTER, "report", "--json").stdout)
    assert report["sessions"] == 0 and report["messages"] == {} and report["on_time"] is None
    assert report["therapists"] == {} and report["given_up"] == 0
    assert not practice.db.exists()  # a report writes nothing


# --- the HTML page in a real browser ---------------------------------------------------


def _chromium(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs the Debian chromium package")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp / 'chromium-profile'}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def _pixels(png: bytes) -> tuple[int, int, list[tuple[int, int, int]]]:
    """Width, height and RGB pixels of an 8-bit RGB or RGBA PNG (what Chromium writes)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = data
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6)
    step = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * step
    rows: list[bytearray] = []
    prior = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            a = line[i - step] if i >= step else 0
            b, c = prior[i], prior[i - step] if i >= step else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 0xFF
        rows.append(line)
        prior = line
    pixels = [tuple(row[x : x + 3]) for row in rows for x in range(0, stride, step)]
    return width, height, pixels  # type: ignore[return-value]


def test_the_html_page_renders_in_headless_chromium(week, tmp_path):
    page = tmp_path / "report.html"
    result = week.ok(AFTER, "report", "--html", str(page))
    assert result.stdout == ""
    html = page.read_text()
    # Self-contained: no script, nothing fetched from elsewhere.
    assert "<script" not in html.lower() and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    assert "https://" not in html and "@import" not in html and "<link" not in html
    dom = _chromium("--dump-dom", page.as_uri(), tmp=tmp_path).stdout
    assert "<th>Sessions covered</th><td>2</td>" in dom
    assert "<th>Link texts within 2 min of due</th><td>50% (1 of 2)</td>" in dom
    assert "<th>Messages given up</th><td>3</td>" in dom
    assert "<li>3 × link refused: link is not https</li>" in dom
    assert "Dr. Chen" in dom and "Dr. Okafor" in dom
    shot = tmp_path / "shot.png"
    _chromium("--window-size=900,700", f"--screenshot={shot}", page.as_uri(), tmp=tmp_path)
    width, height, pixels = _pixels(shot.read_bytes())
    assert (width, height) == (900, 700)
    colours = set(pixels)
    assert len(colours) > 50  # text, tables and bars: not a blank page
    # The chart's bars are drawn: both channels' colours are on screen.
    assert (0x2B, 0x6C, 0xB0) in colours and (0xDD, 0x8A, 0x2E) in colours


# --- by email ------------------------------------------------------------------------


def test_the_report_is_emailed_with_a_plain_text_part(week, smtp_server):
    server = smtp_server()
    week.write_config(
        extra='[report]\nto = ["office@example.org", "owner@example.org"]\n',
        email=f'provider = "smtp"\nsmtp_host = "127.0.0.1"\nsmtp_port = {server.port}\n'
        'security = "none"\nfrom_address = "reminders@example.org"',
    )
    result = week.ok(AFTER, "report", "--email")
    assert result.stdout == "report emailed to o***@example.org, o***@example.org\n"
    assert server.inbox.recipients == [["office@example.org"], ["owner@example.org"]]
    mail = server.inbox.messages[0]
    assert mail["Subject"] == "Riverside Therapy: linkcli report, 2026-11-19 to 2026-11-26"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "Sessions covered: 2" in text and "Messages given up: 3" in text
    assert "<th>Sessions covered</th><td>2</td>" in html and "<svg" in html


def test_email_without_report_to_says_which_key_to_set(week):
    result = week.cli(AFTER, "report", "--email")
    assert result.exit_code == 2
    assert result.stderr.startswith("linkcli: error: config error: [report] to is not set")


# --- the pure figures ----------------------------------------------------------------


def _message(due: str, sent: str | None, **fields: object) -> ReportMessage:
    from datetime import datetime

    base: dict[str, object] = {
        "appointment_id": "apt-1",
        "therapist_id": "th-1",
        "therapist_name": "Maya Chen",
        "therapist_display_name": None,
        "step": "final-30m",
        "channel": "sms",
        "state": "sent" if sent else "pending",
        "reason": None,
        "due_at": datetime.fromisoformat(due),
        "sent_at": datetime.fromisoformat(sent) if sent else None,
        "write_back": None,
    }
    base.update(fields)
    return ReportMessage(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("sent", "on_time"),
    [
        ("2026-11-24T19:30:00+00:00", 1.0),
        ("2026-11-24T19:32:00+00:00", 1.0),  # exactly 2 minutes late is still on time
        ("2026-11-24T19:32:01+00:00", 0.0),
    ],
)
def test_on_time_means_within_two_minutes_of_due(sent, on_time):
    since, until = _week()
    row = _message("2026-11-24T19:30:00+00:00", sent)
    assert build_report([row], [], since, until, ZoneInfo("UTC"))["on_time"] == on_time


@pytest.mark.parametrize(
    ("delivered", "sent", "failed", "rate"),
    [(0, 0, 0, None), (0, 5, 0, None), (9, 0, 1, 0.9), (2, 1, 0, 0.667)],
)
def test_delivery_rate_is_the_confirmed_share(delivered, sent, failed, rate):
    assert delivery_rate(delivered, sent, failed) == rate


def test_replies_and_minutes_saved_come_from_link_requests_answered():
    since, until = _week()
    report = build_report(
        [], [ReplyCount("th-1", 5, 3), ReplyCount(None, 2, 0)], since, until, ZoneInfo("UTC")
    )
    assert (report["replies"], report["link_requests_answered"], report["minutes_saved"]) == (
        7,
        3,
        12,
    )
    assert report["therapists"]["th-1"]["minutes_saved"] == 12


def test_schedule_text_reaches_the_report_as_plain_text():
    since, until = _week()
    row = _message(
        "2026-11-24T19:30:00+00:00",
        None,
        therapist_name="Maya\x1b[31m Chen",
        state="failed",
        reason="gave up: link refused:\x1b[2J bad",
    )
    report = build_report([row], [], since, until, ZoneInfo("UTC"))
    assert report["therapists"]["th-1"]["name"] == "Maya Chen"
    assert report["given_up_reasons"] == {"link refused:?[2J bad": 1}


def test_an_html_file_that_cannot_be_written_is_one_line(week, tmp_path):
    target = tmp_path / "missing-folder" / "report.html"
    result = week.cli(AFTER, "report", "--html", str(target))
    assert result.exit_code == 2
    assert result.stderr == f"linkcli: error: cannot write {target}: No such file or directory\n"
