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
        + ","
        + json.dumps(appointment(id="apt-1001"))
        + "]"
    )
    result = practice.cli(DUE_24H, "run")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert "(and 3 more; see `linkcli status`)" in result.stderr
    assert len(practice.sms()) == 1  # apt-1001's reminder went
    reasons = [a["reason"] for a in practice.status(DUE_24H)["attention"]]
    assert any("email is -inf, not a value" in r for r in reasons)
    assert sum("out of range" in r for r in reasons) == 3


def test_a_crlf_email_and_an_odd_mobile_are_never_tried_and_never_shown_whole(practice):
    practice.schedule(
        appointment(
            participants=[
                client(
                    email="alex@example.org\r\nBcc: x@evil.example", mobile="617 555 0101 ext. 12"
                )
            ]
        )
    )
    practice.ok(T0, "sync")
    runs = [practice.cli(DUE_24H, "run") for _ in range(2)]
    assert practice.sms() == [] and practice.emails() == []
    shown = "".join(r.output + r.stderr for r in runs)
    for command in (("status",), ("status", "--json"), ("explain", "apt-1001")):
        result = practice.ok(DUE_24H, *command)
        shown += result.output + result.stderr
    assert "alex@" not in shown and "555 0101" not in shown and "\r" not in shown
    kinds = {a["kind"]: a["reason"] for a in practice.status(DUE_24H)["attention"]}
    assert kinds["bad_email"] == (
        "email a***@evil.example contains a line break, space or control character; no email can go"
    )
    assert kinds["bad_mobile"].startswith("'***0112' has an extension")


ESCAPED = "\x1b]8;;https://evil.example/login\x07Alex\x1b]8;;\x07 \x1b[8mRivera\x1b[0m"


def test_escapes_in_names_never_reach_the_terminal_or_cron_mail(practice: Practice):
    practice.schedule(
        appointment(
            id="apt-\x1b[2J1",
            participants=[client(id="cl-\x1b[8m1", name=ESCAPED)],
            therapist={"id": "th-1", "name": "Maya\x1b[5m Chen"},
        )
    )
    practice.ok(T0, "sync")
    outputs = [practice.cli(DUE_24H, "run"), practice.cli(DUE_24H, "status")]
    outputs.append(practice.cli(DUE_24H, "explain", "apt-\x1b[2J1"))
    outputs.append(practice.cli(DUE_24H, "preview"))
    for result in outputs:
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.output + result.stderr
    assert "Alex Rivera" in outputs[2].output
    [sms] = practice.sms()
    assert "\x1b" not in sms["body"] and "Maya Chen session" in sms["body"]
    assert practice.emails()[0]["to_name"] == "Alex Rivera"


def test_urls_in_names_never_travel_in_a_message(practice: Practice):
    practice.schedule(
        appointment(
            participants=[client(name="https://evil.example/zoom-login Rivera")],
            therapist={"id": "th-1", "name": "Maya Chen", "display_name": "www.evil.example"},
        )
    )
    practice.ok(T0, "sync")
    practice.ok(DUE_24H, "run")
    [sms] = practice.sms()
    [email] = practice.emails()
    assert sms["body"].startswith("Reminder: Maya Chen session tomorrow at 3:00 PM.")
    assert email["text"].startswith("Hi Rivera,\n")
    assert "evil" not in json.dumps([sms, email])


def _source_path(practice: Practice, path: str) -> None:
    text = practice.config.read_text().replace('path = "appointments.json"', f'path = "{path}"')
    practice.config.write_text(text)


def test_a_fifo_or_a_device_as_the_source_is_refused_at_once(practice: Practice):
    import os

    os.mkfifo(practice.root / "fifo")
    for path, why in [
        (str(practice.root / "fifo"), "is not a regular file"),
        ("/dev/zero", "is not a regular file"),
        (str(practice.root), "is a directory"),
    ]:
        _source_path(practice, path)
        result = practice.cli(T0, "sync")
        assert result.exit_code == 3, (path, result.stderr)
        assert result.stderr == f"linkcli: error: cannot read source file {path}: {path} {why}\n"
        practice.write_config()


def test_an_emptied_export_of_a_solo_practice_cancels_nothing(practice: Practice):
    practice.schedule(
        appointment(),
        appointment(id="apt-2", start="2026-11-25T15:00:00-05:00"),
        appointment(id="apt-3", start="2026-11-26T15:00:00-05:00"),
    )
    practice.ok(T0, "sync")
    practice.schedule()
    refused = practice.cli("2026-11-20T12:15:00Z", "sync")
    assert refused.exit_code == 3
    assert refused.stderr == (
        "linkcli: error: the listing is empty while 3 upcoming appointment(s) are scheduled; "
        "refusing it as a suspicious feed (run `linkcli sync --force` if they really were all "
        "cancelled)\n"
    )
    assert practice.status("2026-11-20T12:15:00Z")["sends"]["canceled"] == 0
    practice.ok("2026-11-20T12:16:00Z", "sync", "--force")
    assert practice.status("2026-11-20T12:16:00Z")["sends"]["pending"] == 0


def test_a_deleted_lock_file_never_lets_a_second_run_resend_an_in_flight_text(practice):
    import subprocess
    import sys

    from tests.conftest import TWILIO_ENV
    from tests.twilio_server import TwilioServer

    with TwilioServer() as twilio:
        practice.write_config(
            sms=f'provider = "twilio"\nfrom_number = "+16175550100"\n'
            f'api_base_url = "{twilio.url}"\ntimeout = 3'
        )
        practice.extra_env.update(TWILIO_ENV)
        practice.ok("2026-11-23T12:00:00Z", "sync")
        twilio.state.hang_after_accept = True  # the first run is mid-send, row `sending`
        first = subprocess.Popen(
            [sys.executable, "-m", "linkcli", "dispatch"],
            env=practice.env(DUE_24H),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert twilio.state.accepted.wait(30)
            (practice.root / "linkcli.db.lock").unlink()  # an operator "cleans up"
            second = practice.cli("2026-11-23T20:01:00Z", "dispatch")
            assert second.exit_code == 0, second.stderr
            assert twilio.state.creates == 1  # the in-flight text was left to its run
        finally:
            first.communicate(timeout=60)
        twilio.state.hang_after_accept = False
        practice.ok("2026-11-23T20:02:00Z", "dispatch")  # settled by a look-up, not a resend
        assert twilio.state.creates == 1


def test_symlinked_store_and_outbox_paths_are_refused_and_their_targets_untouched(
    practice: Practice, tmp_path_factory
):
    import os

    elsewhere = tmp_path_factory.mktemp("someone-else")
    theirs = elsewhere / "theirs.db"
    theirs.write_bytes(b"their data")
    theirs.chmod(0o644)
    practice.db.symlink_to(theirs)
    for command in ("status", "sync"):
        result = practice.cli(T0, command)
        assert result.exit_code == 2, result.output
        assert result.stderr == (
            f"linkcli: error: the database {practice.db} is a symbolic link; point the "
            "setting at the real file (linkcli never writes or chmods through a link)\n"
        )
    assert theirs.read_bytes() == b"their data" and theirs.stat().st_mode & 0o777 == 0o644
    practice.db.unlink()
    practice.db.symlink_to(elsewhere / "nowhere.db")  # dangling: nothing is created there
    assert practice.cli(T0, "sync").exit_code == 2
    assert not (elsewhere / "nowhere.db").exists()
    practice.db.unlink()

    target = elsewhere / "target.txt"
    target.write_text("x\n")
    os.symlink(target, practice.root / "outbox-sms.jsonl")
    practice.ok("2026-11-23T12:00:00Z", "sync")
    result = practice.cli(DUE_24H, "dispatch")
    assert result.exit_code == 1
    assert "outbox-sms.jsonl is a symbolic link" in result.stderr
    assert target.read_text() == "x\n"
    sends = practice.status(DUE_24H)["sends"]
    assert (sends["pending"], sends["sent"]) == (2, 1)  # the texts wait; the email went


def test_folders_linkcli_creates_are_owner_only_under_umask_000(tmp_path):
    import os

    p = Practice(tmp_path)
    p.write_config(extra='[store]\npath = "data/db/linkcli.db"\n')
    p.schedule(appointment())
    old = os.umask(0)
    try:
        p.ok(T0, "sync")
    finally:
        os.umask(old)
    for folder in (tmp_path / "data", tmp_path / "data" / "db"):
        assert folder.stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "data" / "db" / "linkcli.db").stat().st_mode & 0o777 == 0o600


def test_only_the_checked_session_link_is_clickable_in_the_html_email(practice, smtp_server):
    import re

    server = smtp_server()
    practice.write_config(
        email=f'provider = "smtp"\nsmtp_host = "127.0.0.1"\nsmtp_port = {server.port}\n'
        'security = "none"\nfrom_address = "reminders@example.org"',
        extra='[templates."reminder-24h"]\nemail_body = "Hi {client_first_name}, join: {link} '
        '(help: https://help.example.org/x)"\n',
    )
    practice.schedule(
        appointment(participants=[client(name="https://evil.example/zoom-login Alex Rivera")])
    )
    practice.ok("2026-11-23T12:00:00Z", "sync")
    practice.ok(DUE_24H, "run")
    [message] = server.inbox.messages
    html = message.get_body(preferencelist=("html",)).get_content()
    assert re.findall(r'href="([^"]+)"', html) == [
        "https://us02web.zoom.us/j/85512345678?pwd=AbCdEf123"
    ]
    assert "evil" not in message.as_string() and "help.example.org/x" in html


def test_status_and_explain_read_a_store_they_cannot_write_to(practice: Practice):
    practice.ok("2026-11-23T12:00:00Z", "sync")
    before = practice.db.read_bytes()
    # Stands for a read-only folder: SQLite cannot make the WAL's shared-memory file.
    (practice.root / "linkcli.db-shm").mkdir()
    status = practice.status("2026-11-23T12:30:00Z")
    assert status["sends"]["pending"] == 3
    explained = practice.ok("2026-11-23T12:30:00Z", "explain", "apt-1001")
    assert "reminder-24h" in explained.stdout
    assert practice.db.read_bytes() == before


def test_watch_waits_out_a_lock_held_a_few_seconds_and_sends(practice: Practice):
    import os
    import signal
    import subprocess
    import sys
    import threading
    import time
    from datetime import UTC, datetime, timedelta

    from tests.test_lock import HOLDER

    start = (datetime.now(UTC) + timedelta(hours=23, minutes=59)).replace(microsecond=0)
    practice.schedule(appointment(start=start.isoformat()))
    practice.write_config(sms='provider = "outbox"\nquiet_hours = ""')
    env = {k: v for k, v in practice.env("unused").items() if k != "LINKCLI_NOW"}
    env["PATH"] = os.environ.get("PATH", "")
    practice.db.parent.mkdir(exist_ok=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(practice.db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    # stderr to a file: a pipe nobody reads could fill and block the watcher.
    err_path = practice.root / "watch-stderr.txt"
    err_file = err_path.open("w")
    watcher = subprocess.Popen(
        [sys.executable, "-m", "linkcli", "run", "--watch", "-v"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=err_file,
        text=True,
    )
    watchdog = threading.Timer(40, watcher.kill)
    watchdog.start()
    try:
        time.sleep(1.5)  # a manual `linkcli sync` holding the store for a moment
        holder.communicate("")
        assert watcher.stdout is not None
        for line in watcher.stdout:
            if line.startswith("dispatch: sent ") and not line.startswith("dispatch: sent 0"):
                break
        assert watcher.poll() is None  # still watching
        watcher.send_signal(signal.SIGTERM)
        assert watcher.wait(30) == 0
        err_file.close()
        assert "holds" not in err_path.read_text()
    finally:
        watchdog.cancel()
        if watcher.poll() is None:
            watcher.kill()
    assert len(practice.sms()) == 1


def test_a_therapist_with_no_name_is_never_named_by_the_systems_id(practice: Practice):
    practice.schedule(appointment(therapist={"id": "th-1"}))
    practice.ok("2026-11-23T12:00:00Z", "sync")
    practice.ok(DUE_24H, "run")
    [sms] = practice.sms()
    assert sms["body"].startswith("Reminder: your therapist session tomorrow at 3:00 PM.")
    assert "th-1" not in json.dumps(practice.sms() + practice.emails())
