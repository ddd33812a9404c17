"""`linkcli init` through the real CLI: prompts (with a bad answer asked again), flags for
scripts, never overwriting without --force, an owner-only file the real loader accepts."""

from __future__ import annotations

import stat
from pathlib import Path

from typer.testing import CliRunner

from linkcli.cli import app
from linkcli.config import load_config

runner = CliRunner()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_prompts_reask_a_bad_timezone_and_write_a_config_that_loads(tmp_path):
    target = tmp_path / "conf" / "config.toml"
    answers = [
        "Sunrise Therapy",  # practice name
        "Mars/Olympus",  # not a zone: asked again
        "America/Chicago",
        "",  # country: default US
        "",  # language: default en
        "file",
        "",  # appointments.json
        "twilio",
        "617-555-0199",  # national format, normalised with the country
        "smtp",
        "smtp.example.org",
        "ssl",
        "",  # port: the default follows security (465)
        "reminders@example.org",
    ]
    result = runner.invoke(
        app,
        ["init", "--config", str(target)],
        input="\n".join(answers) + "\n",
        env={"LINKCLI_CONFIG": None},
    )

    assert result.exit_code == 0, result.output
    assert "'Mars/Olympus' is not an IANA time zone" in result.stderr
    assert result.stdout.count("Practice time zone") == 2  # asked twice, then accepted
    assert mode(target) == 0o600
    config = load_config(target, {})
    assert config.practice.name == "Sunrise Therapy"
    assert config.practice.timezone == "America/Chicago"
    assert config.sms.provider == "twilio" and config.sms.from_number == "+16175550199"
    assert (config.email.smtp_host, config.email.smtp_port, config.email.security) == (
        "smtp.example.org",
        465,
        "ssl",
    )
    assert config.source.settings["path"] == str(target.parent / "appointments.json")
    # What is left to do: the secrets of the chosen providers and the cron lines.
    for name in (
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "LINKCLI_SMTP_USERNAME",
        "LINKCLI_SMTP_PASSWORD",
    ):
        assert name in result.stdout
    assert f"*/15 * * * * linkcli sync --config {target}" in result.stdout
    assert f"* * * * * linkcli dispatch --config {target}" in result.stdout
    assert f"* * * * * linkcli run --config {target}" in result.stdout


def test_flags_and_yes_write_without_a_single_prompt(tmp_path):
    target = tmp_path / "config.toml"
    result = runner.invoke(
        app,
        [
            "init",
            "--config",
            str(target),
            "--yes",
            "--practice-name",
            "Harbor Counseling",
            "--timezone",
            "Europe/London",
            "--country",
            "gb",
            "--source",
            "simplepractice",
            "--feed-url",
            "https://example.org/feeds/th-7.ics",
            "--therapist-id",
            "th-7",
        ],
    )

    assert result.exit_code == 0, result.output
    assert "Practice name" not in result.stdout  # nothing was asked
    config = load_config(target, {})
    assert (config.practice.country, config.practice.timezone) == ("GB", "Europe/London")
    assert config.source.kind == "simplepractice"
    assert config.source.settings["feeds"] == [
        {"therapist": "th-7", "url": "https://example.org/feeds/th-7.ics"}
    ]
    assert config.contacts_path == tmp_path / "contacts.csv"  # the feed has no contacts
    assert (config.sms.provider, config.email.provider) == ("outbox", "outbox")
    assert "contacts.csv" in result.stdout
    assert "TWILIO_ACCOUNT_SID" not in result.stdout  # outbox needs no secrets


def test_api_source_prints_its_token_variable(tmp_path):
    target = tmp_path / "config.toml"
    result = runner.invoke(app, ["init", "--config", str(target), "--yes", "--source", "calendly"])
    assert result.exit_code == 0, result.output
    assert load_config(target, {}).source.settings["base_url"] == "https://api.calendly.com"
    assert "CALENDLY_TOKEN" in result.stdout


def test_existing_config_is_never_overwritten_without_force(tmp_path):
    target = tmp_path / "config.toml"
    target.write_text("# mine\n")

    refused = runner.invoke(app, ["init", "--config", str(target), "--yes"])
    assert refused.exit_code == 2
    assert "already exists" in refused.stderr and "--force" in refused.stderr
    assert target.read_text() == "# mine\n"

    target.chmod(0o644)
    forced = runner.invoke(app, ["init", "--config", str(target), "--yes", "--force"])
    assert forced.exit_code == 0, forced.output
    assert mode(target) == 0o600
    load_config(target, {})


def test_bad_flag_and_missing_required_flag_are_usage_errors(tmp_path):
    target = tmp_path / "config.toml"
    bad = runner.invoke(
        app, ["init", "--config", str(target), "--yes", "--timezone", "Mars/Olympus"]
    )
    assert bad.exit_code == 2
    assert "--timezone" in bad.stderr and "IANA" in bad.stderr

    missing = runner.invoke(
        app, ["init", "--config", str(target), "--yes", "--sms-provider", "twilio"]
    )
    assert missing.exit_code == 2
    assert "--from-number is needed" in missing.stderr
    assert not target.exists()


def test_closed_input_is_a_usage_error_not_a_traceback(tmp_path):
    result = runner.invoke(app, ["init", "--config", str(tmp_path / "c.toml")], input="")
    assert result.exit_code == 2
    assert "--yes" in result.stderr


def test_environment_and_platform_locations(tmp_path):
    via_env = tmp_path / "env" / "config.toml"
    result = runner.invoke(app, ["init", "--yes"], env={"LINKCLI_CONFIG": str(via_env)})
    assert result.exit_code == 0, result.output
    assert via_env.exists()
    # cron does not see LINKCLI_CONFIG: the lines name the file.
    assert f"linkcli run --config {via_env}" in result.stdout

    home = tmp_path / "xdg"
    result = runner.invoke(
        app, ["init", "--yes"], env={"LINKCLI_CONFIG": None, "XDG_CONFIG_HOME": str(home)}
    )
    assert result.exit_code == 0, result.output
    assert (home / "linkcli" / "config.toml").exists()
    assert "* * * * * linkcli run\n" in result.stdout  # the default needs no --config
