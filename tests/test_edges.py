"""Edges of the contract: exit codes (a bug is 5, a damaged store is 2 and left as it
was, a value too large is a usage error), settings that are range-checked, secrets never
echoed, and one owner for Twilio's error codes."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest
import typer

from linkcli.cli import _guarded
from tests.conftest import TWILIO_ENV, Practice, appointment

SYNCED = "2026-11-23T12:00:00Z"
DUE = "2026-11-23T20:00:00Z"  # the 24 h reminder of the default session
FINAL = "2026-11-24T19:31:00Z"  # the 30 min text of the default session


# --- exit codes ---------------------------------------------------------------------


def test_a_bug_exits_5_with_one_line_and_no_traceback(capsys):
    @_guarded
    def command(verbose: bool = False) -> None:
        raise KeyError("a bug")

    with pytest.raises(typer.Exit) as exit_info:
        command(verbose=False)
    assert exit_info.value.exit_code == 5
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["linkcli: error: internal error: KeyError: 'a bug'"]

    with pytest.raises(typer.Exit):
        command(verbose=True)
    assert "Traceback" in capsys.readouterr().err  # -v shows where it happened


def _corrupt_a_page(db_path, table: str) -> bytes:
    """Overwrite one page of `table` (found in sqlite_master) with garbage; return the
    file's bytes as they now are."""
    with sqlite3.connect(db_path) as db:
        db.execute("pragma wal_checkpoint(truncate)")
        page_size = db.execute("pragma page_size").fetchone()[0]
        root = db.execute("select rootpage from sqlite_master where name = ?", [table]).fetchone()
    data = bytearray(db_path.read_bytes())
    start = (root[0] - 1) * page_size
    data[start : start + page_size] = b"\xa5" * page_size
    db_path.write_bytes(bytes(data))
    return bytes(data)


@pytest.mark.parametrize("command", [("dispatch",), ("status",), ("sync",)])
def test_a_page_corrupted_mid_query_is_a_store_error_and_the_file_is_untouched(
    practice: Practice, command: tuple[str, ...]
):
    practice.ok(SYNCED, "sync")
    before = _corrupt_a_page(practice.db, "sends")

    result = practice.cli(DUE, *command)

    assert result.exit_code == 2, result.output
    assert "database" in result.stderr and "internal error" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert practice.db.read_bytes() == before
    assert practice.sms() == [] and practice.emails() == []


@pytest.mark.parametrize(
    "now",
    ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59Z"],
)
def test_linkcli_now_too_far_out_is_a_usage_error(practice: Practice, now: str):
    result = practice.cli(now, "dispatch")
    assert result.exit_code == 2
    assert "LINKCLI_NOW" in result.stderr and "out of range" in result.stderr
    assert "internal error" not in result.stderr


def test_preview_days_too_large_is_a_usage_error(practice: Practice):
    practice.ok(SYNCED, "sync")
    result = practice.cli(SYNCED, "preview", "--days", "99999999999")
    assert result.exit_code == 2
    assert "--days" in result.stderr and "internal error" not in result.stderr


# --- config values ------------------------------------------------------------------


def config_problems(practice: Practice, extra: str, **kwargs: str) -> str:
    practice.write_config(extra, **kwargs)
    result = practice.cli(SYNCED, "sync")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return result.stderr


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ('[sync]\npast = "99999999999999999999d"\n', "sync.past (line 18): '99999999999999"),
        ('[sync]\nfuture = "1000000d"\n', "sync.future (line 18): '1000000d' is too long"),
        ('[store]\nretention = "9999999w"\n', "store.retention (line 18)"),
        ("[sync]\nvanish_ratio = nan\n", "sync.vanish_ratio (line 18): must be a number in [0, 1]"),
        ("[sync]\nvanish_ratio = inf\n", "sync.vanish_ratio (line 18)"),
        ("[sync]\nvanish_ratio = -0.5\n", "sync.vanish_ratio (line 18)"),
        ("[sync]\nvanish_min = -3\n", "sync.vanish_min (line 18)"),
        ('[sync]\nfuture = "0m"\n', "sync.future (line 18): must be at least 1h"),
        (
            '[[sequence]]\nname = "r"\nbefore = "99999999999999999999h"\nchannels = ["sms"]\n',
            "sequence.0.before (line 19)",
        ),
    ],
)
def test_absurd_numbers_and_durations_are_config_errors(
    practice: Practice, extra: str, expected: str
):
    assert expected in config_problems(practice, extra)


@pytest.mark.parametrize(
    ("sms", "email", "expected"),
    [
        ('provider = "outbox"\ntimeout = -1', None, "sms.timeout (line 12)"),
        ('provider = "outbox"\nmax_per_second = 0', None, "sms.max_per_second (line 12)"),
        (None, 'provider = "outbox"\nsmtp_port = 70000', "email.smtp_port (line 15)"),
        (None, 'provider = "outbox"\ntimeout = nan', "email.timeout (line 15)"),
    ],
)
def test_channel_numbers_are_range_checked(
    practice: Practice, sms: str | None, email: str | None, expected: str
):
    kwargs = {k: v for k, v in (("sms", sms), ("email", email)) if v}
    assert expected in config_problems(practice, "", **kwargs)


SECRET = "eyJhbGciOiJIUzI1NiJ9SECRETxyz.abc-def"


@pytest.mark.parametrize(
    "source",
    [
        f'kind = "fhir"\nbase_url = "https://fhir.example.org/r4"\ntoken_env = "{SECRET}"',
        f'kind = "calendly"\ntoken_env = "{SECRET}"',
        f'kind = "zoom"\nclient_secret_env = "{SECRET}"',
        f'kind = "rest"\nbase_url = "https://api.example.org"\ntoken_env = "{SECRET}"\n'
        '[source.map]\nid = "id"\nstart = "start"\ntherapist_id = "t"\nparticipant_id = "c"',
    ],
)
def test_a_secret_pasted_into_an_env_key_is_never_printed(practice: Practice, source: str):
    practice.config.write_text(f"[source]\n{source}\n")
    result = practice.cli(SYNCED, "sync")
    assert result.exit_code == 2
    assert SECRET not in result.output and "SECRET" not in result.output
    key = re.search(r"(\w+_env) =", source).group(1)
    assert f"source.{key} (line " in result.stderr
    assert "not the secret itself" in result.stderr


def test_a_link_step_template_without_link_is_a_config_error(practice: Practice):
    stderr = config_problems(
        practice,
        """
        [templates."reminder-24h"]
        sms = "Reminder: your session is {day} at {time}."

        [therapists."th-1".templates."final-30m"]
        email_body = "Starting soon, see you there."

        [templates."reminder-24h".es]
        sms = "Recordatorio: su sesion es {day} a las {time}."
        """,
    )
    assert "templates.reminder-24h.sms (line 19)" in stderr
    assert "has no {link}" in stderr
    assert "(and 2 more problem(s))" in stderr  # the therapist's and the Spanish one too
    practice.write_config(
        """
        [templates."reminder-24h".es]
        sms = "Recordatorio: su sesion es {day} a las {time}."
        """
    )
    spanish = practice.cli(SYNCED, "sync").stderr
    assert "templates.reminder-24h.es.sms (line 19)" in spanish


# --- one owner for Twilio's error codes -----------------------------------------------


def test_a_late_21612_delivery_report_marks_the_number_unusable(practice: Practice, twilio_api):
    """21612 ("not reachable via SMS") reported after the send: the next text is not
    tried on that number, exactly as if Twilio had refused the first one."""
    practice.write_config(sms='provider = "twilio"\nfrom_number = "+16175550100"')
    practice.extra_env.update(TWILIO_ENV)
    practice.schedule(appointment())
    practice.ok(SYNCED, "sync")
    practice.ok(DUE, "dispatch")
    assert len(twilio_api.posted) == 1
    twilio_api.statuses[f"SM{1:032d}"] = ("undelivered", 21612)
    practice.cli("2026-11-23T20:05:00Z", "dispatch")

    practice.cli(FINAL, "dispatch")

    assert len(twilio_api.posted) == 1  # the 30 min text was not sent to that number
    status = practice.status(FINAL)
    bad = [a for a in status["attention"] if a["kind"] == "bad_mobile"]
    assert [a["reason"] for a in bad] == [
        "number cannot receive texts (not delivered (undelivered, error 21612)); email only"
    ]
    assert "+16175550101" not in str(status)


# --- doctor on the link policy ---------------------------------------------------------


@pytest.mark.parametrize(
    ("links", "expected"),
    [
        ('allowed_hosts = ["zoom.us", "com"]', "allowed_hosts 'com' is a public suffix"),
        ('allowed_hosts = ["zoom.us", "co.uk"]', "allowed_hosts 'co.uk' is a public suffix"),
        ("reject_patterns = []", "reject_patterns is empty"),
    ],
)
def test_doctor_warns_on_a_link_policy_that_lets_anything_through(
    practice: Practice, links: str, expected: str
):
    practice.write_config(f"[links]\n{links}\n")
    result = practice.cli(SYNCED, "doctor")
    line = next(x for x in result.stdout.splitlines() if "link policy" in x)
    assert line.split()[0] == "WARN"
    assert expected in result.stdout


# --- one config reader for [source] ---------------------------------------------------


def test_three_source_problems_are_reported_together_each_with_its_line(practice: Practice):
    practice.config.write_text(
        "[practice]\n"
        'timezone = "America/New_York"\n'
        "\n"
        "[source]\n"
        'kind = "fhir"\n'
        'base_url = "http://fhir.example.org/r4"\n'
        "timeout = 0\n"
        'fallback_link = "ftp://doxy.me/room"\n'
        "\n"
        "[sync]\n"
        "vanish_ratio = 2\n"
    )
    result = practice.cli(SYNCED, "doctor", "--json")
    problems = json.loads(result.stdout)  # doctor lists each problem; sync shows the first
    text = json.dumps(problems)
    for expected in (
        "source.base_url (line 6)",
        "source.timeout (line 7)",
        "source.fallback_link (line 8)",
        "sync.vanish_ratio (line 11)",
    ):
        assert expected in text, text
    sync = practice.cli(SYNCED, "sync")
    assert sync.exit_code == 2
    assert "(line 11)" in sync.stderr and "(and 3 more problem(s))" in sync.stderr


# --- adapters say what they can do ----------------------------------------------------


def _abilities(adapter: object) -> set[str]:
    from linkcli.adapters import Closeable
    from linkcli.channels.base import FindsSent, HealthChecked, ReadsReplies, ReportsDelivery
    from linkcli.sources.base import SkipsUnchanged

    protocols = {
        "close": Closeable,
        "find_sent": FindsSent,
        "check": HealthChecked,
        "replies": ReadsReplies,
        "delivery": ReportsDelivery,
        "skips_unchanged": SkipsUnchanged,
    }
    return {name for name, protocol in protocols.items() if isinstance(adapter, protocol)}


def test_each_adapter_declares_exactly_its_abilities(tmp_path):
    from linkcli.channels.outbox import OutboxEmail, OutboxSms
    from linkcli.channels.smtp import SmtpEmail
    from linkcli.channels.twilio import TwilioSms
    from linkcli.config import EmailConfig, SmsConfig
    from linkcli.sources.file import FileSource

    twilio = SmsConfig(provider="twilio", from_number="+16175550100")
    outbox = SmsConfig(outbox_path=tmp_path / "sms.jsonl")
    with TwilioSms(twilio, TWILIO_ENV) as sms:
        assert _abilities(sms) == {"close", "find_sent", "check", "replies", "delivery"}
        # Delivery reports are classified by the same table as refusals at send time.
        assert [sms.classify(c) for c in ("21612", "21408", "21610", "30003", None)] == [
            "bad_contact",
            "bad_contact",
            "opted_out",
            "transient",
            None,
        ]
    assert _abilities(OutboxSms(outbox, {})) == set()
    assert _abilities(OutboxEmail(EmailConfig(outbox_path=tmp_path / "e.jsonl"), {})) == set()
    assert _abilities(SmtpEmail(EmailConfig(provider="smtp"), {})) == {"close", "check"}
    assert _abilities(FileSource(tmp_path / "a.json")) == {"skips_unchanged"}


@pytest.mark.parametrize(
    ("start", "inside"),
    [
        ("2026-11-20T12:00:00+00:00", True),  # the window's first instant
        ("2026-11-20T11:59:59+00:00", False),
        ("2026-12-20T11:59:59+00:00", True),
        ("2026-12-20T12:00:00+00:00", False),  # the end belongs to the next window
        ("2026-12-20T07:00:00-05:00", False),  # the same instant in another zone
    ],
)
def test_window_membership_is_half_open(start: str, inside: bool):
    from datetime import datetime

    from linkcli.core.window import Window

    window = Window(
        datetime.fromisoformat("2026-11-20T12:00:00+00:00"),
        datetime.fromisoformat("2026-12-20T12:00:00+00:00"),
    )
    assert (datetime.fromisoformat(start) in window) is inside


def test_rest_mapping_problems_carry_their_lines(practice: Practice):
    practice.config.write_text(
        "[source]\n"
        'kind = "rest"\n'
        'base_url = "https://api.example.org"\n'
        'auth = "header"\n'
        "\n"
        "[source.map]\n"
        'id = "id"\n'
        'start = "a..b"\n'
        'telehealth_link = "url"\n'
        'therapist_id = "t"\n'
        'participant_id = "c"\n'
    )
    result = practice.cli(SYNCED, "doctor", "--json")
    text = json.dumps(json.loads(result.stdout))
    for expected in (
        "source.auth_header (line 1)",  # missing: the line of [source]
        "source.map.start (line 8)",
        "source.map.telehealth_link (line 9)",
    ):
        assert expected in text, text


@pytest.mark.parametrize(
    ("kind", "setting"),
    [
        ("rest", "timeout = nan"),
        ("rest", "max_pages = 100000000"),
        ("fhir", "timeout = inf"),
        ("calendly", "timeout = 100000"),
    ],
)
def test_source_numbers_are_range_checked(practice: Practice, kind: str, setting: str):
    practice.config.write_text(
        f'[source]\nkind = "{kind}"\nbase_url = "https://api.example.org"\n{setting}\n'
        '[source.map]\nid = "id"\nstart = "start"\ntherapist_id = "t"\nparticipant_id = "c"\n'
        if kind == "rest"
        else f'[source]\nkind = "{kind}"\nbase_url = "https://api.example.org"\n{setting}\n'
    )
    result = practice.cli(SYNCED, "sync")
    assert result.exit_code == 2
    key = setting.split(" =")[0]
    assert f"source.{key} (line 4): must be a" in result.stderr
