"""`linkcli doctor` through the real CLI: a good practice passes, a template inviting a
reply of CANCEL fails, Twilio's answer to a real account read (the one Twilio fake) decides the
credentials line, and a real SMTP server on 127.0.0.1 answers the login check."""

from __future__ import annotations

import json

import respx

from tests.conftest import TWILIO_ENV, Practice
from tests.twilio_server import FakeTwilio, TwilioServer

NOW = "2026-11-20T12:00:00Z"
TWILIO_SMS = 'provider = "twilio"\nfrom_number = "+16175550199"'


def lines(output: str) -> dict[str, str]:
    """The doctor's plain-text lines, keyed by check name: {"config valid": "PASS ..."}."""
    out = {}
    for line in output.splitlines():
        if line[:4] in ("PASS", "WARN", "FAIL"):
            out[line[6:26].strip()] = line
    return out


def test_good_outbox_practice_passes_with_the_simulated_clock_as_a_warning(practice):
    result = practice.cli(NOW, "doctor")

    assert result.exit_code == 0, result.output
    got = lines(result.stdout)
    for name in (
        "config valid",
        "secrets present",
        "database writable",
        "source readable",
        "SMS length",
        "SMS names therapist",
        "no reply CANCEL",
        "link policy",
    ):
        assert got[name].startswith("PASS"), got[name]
    assert "1 appointment(s)" in got["source readable"]
    assert "nothing was written" in got["source readable"]
    assert got["clock and timezone"].startswith("WARN")
    assert "LINKCLI_NOW" in got["clock and timezone"]
    assert "Twilio credentials" not in got and "SMTP login" not in got  # outbox: not tried
    assert "0 fail" in result.stdout
    # The source was read, never written: the snapshot is still empty.
    status = practice.status(NOW)
    assert status["last_sync"]["time"] is None


def test_a_template_inviting_reply_cancel_fails(practice):
    practice.write_config(
        extra="""
        [templates."final-30m"]
        sms = "{therapist} starts in {starts_in}: {link} Reply CANCEL to cancel."
        """
    )
    result = practice.cli(NOW, "doctor")

    assert result.exit_code == 1
    got = lines(result.stdout)
    assert got["no reply CANCEL"].startswith("FAIL")
    assert 'templates."final-30m" sms' in got["no reply CANCEL"]
    assert "fix:" in result.stdout
    assert "check(s) failed: no reply CANCEL" in result.stderr


def test_long_and_anonymous_templates_warn_but_pass(practice):
    practice.write_config(
        extra="""
        [templates."final-30m"]
        sms = "Your session starts in {starts_in}. Join now: {link}"

        [therapists."th-1".templates."reminder-24h"]
        sms = "Reminder from {practice}: your session with {therapist} is {day} at {time}, \
please join a few minutes early using this link: {link}"
        """
    )
    result = practice.cli(NOW, "doctor", "--json")

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["SMS names therapist"]["status"] == "warn"
    assert "final-30m" in checks["SMS names therapist"]["detail"]
    assert checks["SMS length"]["status"] == "warn"
    assert "reminder-24h (th-1): 2 GSM-7 segments" in checks["SMS length"]["detail"]
    assert report["ok"] is True and report["counts"]["fail"] == 0


def test_twilio_401_is_a_failed_credentials_line(practice: Practice):
    # A Twilio-compatible endpoint: the account read must go there, not to api.twilio.com.
    with TwilioServer() as twilio:
        practice.write_config(sms=TWILIO_SMS + f'\napi_base_url = "{twilio.url}"')
        practice.extra_env.update(TWILIO_ENV)
        twilio.state.account_failure = (401, 20003)
        result = practice.cli(NOW, "doctor")
        assert twilio.state.account_reads == 1

    assert result.exit_code == 1
    got = lines(result.stdout)
    assert got["secrets present"].startswith("PASS")
    assert got["Twilio credentials"].startswith("FAIL")
    assert "refused the credentials (HTTP 401" in got["Twilio credentials"]
    assert TWILIO_ENV["TWILIO_AUTH_TOKEN"] not in result.output


def test_twilio_active_account_passes(practice: Practice, twilio_api: FakeTwilio):
    practice.write_config(sms=TWILIO_SMS)
    practice.extra_env.update(TWILIO_ENV)
    result = practice.cli(NOW, "doctor")

    assert result.exit_code == 0, result.output
    assert twilio_api.account_reads == 1
    assert lines(result.stdout)["Twilio credentials"].startswith("PASS")
    assert "+1******0199" in result.stdout


def test_missing_secrets_fail_and_twilio_is_not_tried(practice: Practice):
    practice.write_config(sms=TWILIO_SMS)
    with respx.mock(assert_all_called=False) as api:  # any request would be unrouted
        result = practice.cli(NOW, "doctor")
        assert not api.calls

    assert result.exit_code == 1
    got = lines(result.stdout)
    assert "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN" in got["secrets present"]
    assert got["Twilio credentials"].startswith("WARN")


def test_smtp_server_on_loopback_connects(practice: Practice, smtp_server):
    server = smtp_server()
    practice.write_config(
        email=f'provider = "smtp"\nsmtp_host = "127.0.0.1"\n'
        f'smtp_port = {server.port}\nsecurity = "none"\n'
        'from_address = "reminders@example.org"'
    )
    result = practice.cli(NOW, "doctor")

    assert result.exit_code == 0, result.output
    smtp = lines(result.stdout)["SMTP login"]
    assert smtp.startswith("WARN") and "connected; no login tried" in smtp
    assert server.inbox.messages == []  # nothing was sent


def test_invalid_config_is_one_failed_line(practice: Practice):
    practice.config.write_text('[practice]\ntimezone = "Mars/Olympus"\n[source]\nkind = "file"\n')
    result = practice.cli(NOW, "doctor")

    assert result.exit_code == 2  # a config error, as from any other command
    got = lines(result.stdout)
    assert got["config valid"].startswith("FAIL")
    assert "Mars/Olympus" in got["config valid"]
