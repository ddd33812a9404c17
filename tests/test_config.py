"""Config errors name the key and the line, exit 2, and never print a traceback."""

from __future__ import annotations

import pytest

from tests.conftest import Practice

NOW = "2026-11-20T12:00:00Z"


def error_of(practice: Practice, text: str) -> str:
    practice.config.write_text(text)
    result = practice.cli(NOW, "sync")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stderr.count("\n") == 1
    return result.stderr


BASE = '[practice]\nname = "P"\n\n[source]\nkind = "file"\npath = "appointments.json"\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[practice\nname = 1\n",
            "not valid TOML: Expected ']' at the end of a table declaration (at line 1, column 10)",
        ),
        (
            '[practice]\nname = "P"\n\n[source]\nkind = "outlook"\n',
            "source.kind (line 5): 'outlook' is not one of: file, ics, simplepractice, "
            "therapynotes, calendly, zoom, fhir, rest",
        ),
        (
            '[practice]\nname = "P"\n\n[source]\nkind = "file"\n',
            "source.path (line 4): missing; the file source needs path",
        ),
        (
            BASE + '\n[sms]\nprovider = "carrier-pigeon"\n',
            "sms.provider (line 9): 'carrier-pigeon' is not one of: twilio, outbox",
        ),
        (
            BASE + '\n[sms]\nprovider = "twilio"\n',
            "sms.from_number (line 8): twilio needs from_number or messaging_service_sid",
        ),
        (
            BASE + '\n[templates."final-30m"]\nsms = "Hi {client} {link}"\n',
            "templates.final-30m.sms (line 9): unknown placeholder {client}; known:",
        ),
        (
            BASE + '\n[[sequence]]\nname = "nudge"\nbefore = "2h"\nchannels = ["sms"]\n',
            "templates.nudge.sms: step 'nudge' sends sms but has no sms template",
        ),
        (
            BASE + '\n[[sequence]]\nname = "nudge"\nbefore = "soon"\nchannels = ["sms"]\n',
            "sequence.0.before (line 10): 'soon' is not a duration like 30m, 1h, 2d or 1h30m",
        ),
        (BASE + "\n[practice]\n", "not valid TOML"),
        (
            '[practice]\ntimezone = "Mars/Olympus"\n\n[source]\nkind = "file"\npath = "a.json"\n',
            "practice.timezone (line 2): 'Mars/Olympus' is not an IANA time zone",
        ),
        (
            BASE + '\n[sms]\napi_base_url = "http://api.example.org"\n',
            "sms.api_base_url (line 9): 'http://api.example.org' must be an https URL",
        ),
        (
            BASE + '\n[email]\nsmtp_port = "25"\n',
            "email.smtp_port (line 9): must be an integer, found '25'",
        ),
        (BASE + '\n[links]\nreject_patterns = ["(unclosed"]\n', "links.reject_patterns (line 9):"),
        (BASE + '\n[smss]\nprovider = "outbox"\n', "smss (line 8): unknown section"),
    ],
)
def test_config_errors_name_the_key_and_line(practice, text, expected):
    assert expected in error_of(practice, text)


def test_every_problem_is_counted_in_the_one_line(practice):
    line = error_of(practice, BASE + '\n[sms]\nprovider = "x"\n\n[email]\nsecurity = "tls"\n')
    assert "sms.provider (line 9)" in line and "(and 1 more problem(s))" in line


def test_missing_config_file_says_how_to_make_one(practice):
    practice.config.unlink()
    result = practice.cli(NOW, "sync")
    assert result.exit_code == 2
    assert "no config file at" in result.stderr and "linkcli init" in result.stderr


def test_bad_linkcli_now_is_a_usage_error(practice):  # noqa: D103
    result = practice.cli("tomorrow-ish", "dispatch")
    assert result.exit_code == 2
    assert "LINKCLI_NOW='tomorrow-ish' is not an ISO 8601 instant" in result.stderr


def test_config_flag_beats_the_environment(practice, tmp_path):
    other = tmp_path / "elsewhere.toml"
    other.write_text("not toml at all [")
    result = practice.runner.invoke(
        __import__("linkcli.cli", fromlist=["app"]).app,
        ["sync", "--config", str(practice.config)],
        env={"LINKCLI_NOW": NOW, "LINKCLI_CONFIG": str(other)},
    )
    assert result.exit_code == 0, result.stderr


def test_a_zero_offset_step_is_refused(practice):
    line = error_of(
        practice,
        BASE + '\n[[sequence]]\nname = "now"\nbefore = "0m"\n'
        'channels = ["sms"]\n[templates."now"]\nsms = "{link}"\n',
    )
    assert "sequence.0.before (line 10): must be longer than 0" in line


def test_linkcli_now_without_an_offset_is_utc(practice):
    practice.ok("2026-11-23T20:00:00", "run")
    assert practice.status("2026-11-23T20:00:00")["now"] == "2026-11-23T20:00:00+00:00"
