"""`linkcli init` through the real CLI: prompts (a bad answer asked again), flags for
scripts, never overwriting without --force, an owner-only file the real loader accepts,
and for every source kind a setup that `doctor` passes (each HTTP source answered by
its fake under respx: nothing leaves this machine)."""

from __future__ import annotations

import json
import shlex
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from typer.testing import CliRunner

from linkcli.cli import app
from linkcli.config import load_config
from tests import test_source_calendly as calendly
from tests import test_source_fhir as fhir
from tests import test_source_rest as rest
from tests import test_source_zoom as zoom

runner = CliRunner()
NOW = "2026-11-23T20:00:00Z"
OUTBOX = ["--sms-provider", "outbox", "--email-provider", "outbox"]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def cron_argv(stdout: str, command: str) -> list[str]:
    """The command of the crontab line for `command`, split as cron's shell splits it."""
    line = next(ln for ln in stdout.splitlines() if f"' {command} --config" in ln)
    return shlex.split(line.strip().split(None, 5)[5].replace("\\%", "%"))


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
        ["init", "--config", str(target), "--no-doctor"],
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
    assert json.loads((target.parent / "appointments.json").read_text()) == {"appointments": []}
    for name in (
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "LINKCLI_SMTP_USERNAME",
        "LINKCLI_SMTP_PASSWORD",
    ):
        assert name in result.stdout
    assert "Test mode" not in result.stdout  # both channels are live
    # Cron lines: the full path of this linkcli, the config named, quoted.
    exe = str(Path(cron_argv(result.stdout, "run")[0]))
    assert Path(exe).is_absolute() and Path(exe).name == "linkcli"
    for command in ("sync", "dispatch", "run"):
        assert cron_argv(result.stdout, command) == [exe, command, "--config", str(target)]


def test_yes_never_invents_a_practice_name(tmp_path):
    target = tmp_path / "config.toml"
    result = runner.invoke(app, ["init", "--config", str(target), "--yes", *OUTBOX])
    assert result.exit_code == 2
    assert "--name is needed" in result.stderr and "without --yes" in result.stderr
    assert not target.exists()


def test_providers_are_asked_never_assumed(tmp_path):
    target = tmp_path / "config.toml"
    result = runner.invoke(
        app,
        ["init", "--config", str(target), "--yes", "--name", "Harbor", "--source", "file"],
    )
    assert result.exit_code == 2
    assert "--sms-provider is needed" in result.stderr


def test_flags_and_yes_write_without_a_single_prompt(tmp_path):
    target = tmp_path / "config.toml"
    result = runner.invoke(
        app,
        [
            "init",
            "--config",
            str(target),
            "--yes",
            "--no-doctor",
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
            "--therapist-name",
            "Priya Patel",
            "--therapist-display-name",
            "Dr. Patel",
            *OUTBOX,
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
    therapist = config.therapists["th-7"]
    assert (therapist.name, therapist.display_name, therapist.link) == (
        "Priya Patel",
        "Dr. Patel",
        None,
    )
    assert config.contacts_path == tmp_path / "contacts.csv"  # the feed has no contacts
    assert (tmp_path / "contacts.csv").read_text() == "client,name,email,mobile,channels,timezone\n"
    assert mode(tmp_path / "contacts.csv") == 0o600
    assert (config.sms.provider, config.email.provider) == ("outbox", "outbox")
    assert "TWILIO_ACCOUNT_SID" not in result.stdout  # outbox needs no secrets
    # Test mode is said, with the way out.
    assert "Test mode: texts and email go to an outbox file, nothing reaches clients" in (
        result.stdout
    )
    assert '[sms] provider = "twilio"' in result.stdout


def test_therapynotes_needs_the_portal_link(tmp_path):
    target = tmp_path / "config.toml"
    base = ["init", "--config", str(target), "--yes", "--no-doctor", "--name", "Harbor"]
    base += ["--source", "therapynotes", "--feed-url", "https://example.org/th.ics"]
    base += ["--therapist-name", "Priya Patel", "--therapist-display-name", "Dr. Patel", *OUTBOX]
    refused = runner.invoke(app, base)
    assert refused.exit_code == 2
    assert "--therapist-link: TherapyNotes feeds carry no session link" in refused.stderr
    portal = "https://www.therapyportal.com/p/harbor/"
    result = runner.invoke(app, [*base, "--therapist-link", portal])
    assert result.exit_code == 0, result.output
    assert load_config(target, {}).therapists["th-1"].link == portal


def test_existing_config_is_never_overwritten_without_force(tmp_path):
    target = tmp_path / "config.toml"
    target.write_text("# mine\n")
    flags = ["--yes", "--no-doctor", "--name", "Harbor", "--source", "file", *OUTBOX]

    refused = runner.invoke(app, ["init", "--config", str(target), *flags])
    assert refused.exit_code == 2
    assert "already exists" in refused.stderr and "--force" in refused.stderr
    assert target.read_text() == "# mine\n"

    target.chmod(0o644)
    forced = runner.invoke(app, ["init", "--config", str(target), *flags, "--force"])
    assert forced.exit_code == 0, forced.output
    assert mode(target) == 0o600
    load_config(target, {})


def test_bad_flag_and_missing_required_flag_are_usage_errors(tmp_path):
    target = tmp_path / "config.toml"
    base = ["init", "--config", str(target), "--yes", "--name", "Harbor", "--source", "file"]
    bad = runner.invoke(app, [*base, *OUTBOX, "--timezone", "Mars/Olympus"])
    assert bad.exit_code == 2
    assert "--timezone" in bad.stderr and "IANA" in bad.stderr

    kind = runner.invoke(app, [*base[:-1], "simplepractise", *OUTBOX])
    assert kind.exit_code == 2 and "did you mean 'simplepractice'?" in kind.stderr

    missing = runner.invoke(app, [*base, "--sms-provider", "twilio"])
    assert missing.exit_code == 2
    assert "--from-number is needed" in missing.stderr
    assert not target.exists()


def test_closed_input_is_a_usage_error_not_a_traceback(tmp_path):
    result = runner.invoke(app, ["init", "--config", str(tmp_path / "c.toml")], input="")
    assert result.exit_code == 2
    assert "--yes" in result.stderr


def test_cron_lines_and_unit_survive_spaces_and_percent_signs(tmp_path):
    target = tmp_path / "My Practice 100%" / "config.toml"
    result = runner.invoke(
        app,
        ["init", "--config", str(target), "--yes", "--no-doctor", "--name", "Harbor"]
        + ["--source", "file", *OUTBOX],
    )
    assert result.exit_code == 0, result.output
    # cron reads an unescaped % as a newline: it is escaped, and the path is one word.
    assert "100\\%" in result.stdout
    assert cron_argv(result.stdout, "run")[1:] == ["run", "--config", str(target)]
    unit = (target.parent / "linkcli.service").read_text()
    exec_start = next(ln for ln in unit.splitlines() if ln.startswith("ExecStart="))
    assert exec_start.endswith(f'run --watch --config "{str(target).replace("%", "%%")}"')
    assert str(target.parent / "linkcli.service") in result.stdout
    env_file = str(target.parent / "linkcli.env").replace("%", "%%")
    assert f"EnvironmentFile=-{env_file}" in unit.splitlines()  # a path: never quoted


def test_environment_and_platform_locations(tmp_path):
    flags = ["--yes", "--no-doctor", "--name", "Harbor", "--source", "file", *OUTBOX]
    via_env = tmp_path / "env" / "config.toml"
    result = runner.invoke(app, ["init", *flags], env={"LINKCLI_CONFIG": str(via_env)})
    assert result.exit_code == 0, result.output
    assert via_env.exists()
    # cron does not see LINKCLI_CONFIG: the lines name the file.
    assert cron_argv(result.stdout, "run")[1:] == ["run", "--config", str(via_env)]

    home = tmp_path / "xdg"
    result = runner.invoke(
        app, ["init", *flags], env={"LINKCLI_CONFIG": None, "XDG_CONFIG_HOME": str(home)}
    )
    assert result.exit_code == 0, result.output
    assert (home / "linkcli" / "config.toml").exists()


# --- init, then doctor, for every source kind --------------------------------------------

HEAD = ["Harbor Counseling", "America/New_York", "", ""]  # name, zone, country, language
TAIL = ["outbox", "outbox"]
THERAPIST = ["th-patel", "Priya Patel", "Dr. Patel"]
PORTAL = "https://www.therapyportal.com/p/harbor/"


def _ics(tmp_path: Path) -> str:
    feed = tmp_path / "feeds" / "patel.ics"
    feed.parent.mkdir()
    feed.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//example//feed//EN\r\n"
        "BEGIN:VEVENT\r\nUID:ev-1@example.org\r\nDTSTAMP:20261120T100000Z\r\n"
        "DTSTART:20261124T200000Z\r\nDTEND:20261124T205000Z\r\n"
        "SUMMARY:Alex Rivera Appointment\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    return str(feed)


@pytest.fixture
def fakes() -> Iterator[respx.MockRouter]:
    """Every HTTP source's fake at its vendor's address, under respx."""
    with respx.mock(assert_all_called=False) as router:
        api = calendly.FakeCalendly(router)
        api.add(calendly.event("EV-1"), calendly.invitee("EV-1"))
        z = zoom.ZoomApi(router)
        z.pages = {"": zoom.fixture("meetings_page.json")}
        router.route(host="fhir.example.org").mock(
            side_effect=fhir.FakeFhir({"resourceType": "Bundle", "type": "searchset", "entry": []})
        )
        router.get(f"{rest.GATEWAY}/appointments").mock(
            return_value=httpx.Response(200, json={"appointments": []})
        )
        yield router


def _answers(kind: str, tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    """The prompts' answers for a source kind, and the secrets its doctor needs."""
    if kind == "file":
        return [*HEAD, kind, "", *TAIL], {}
    if kind in ("ics", "simplepractice", "therapynotes"):
        link = PORTAL if kind == "therapynotes" else ""
        return [*HEAD, kind, *THERAPIST, _ics(tmp_path), link, "", "", *TAIL], {}
    # API sources name their therapists: one is optional ("" skips it).
    if kind == "calendly":
        return [*HEAD, kind, "", "", *TAIL], {"CALENDLY_TOKEN": calendly.TOKEN}
    if kind == "zoom":
        return [*HEAD, kind, "", "", "", "", *TAIL], zoom.ENV
    if kind == "fhir":
        # A practitioner with a fixed link for sessions whose Appointment carries none.
        chen = ["prac-chen", "Maya Chen", "Dr. Chen", fhir.FALLBACK, ""]
        return [*HEAD, kind, fhir.BASE, *chen, *TAIL], {"FHIR_TOKEN": fhir.TOKEN}
    return [*HEAD, kind, rest.GATEWAY, "", "", *TAIL], {"LINKCLI_REST_TOKEN": rest.TOKEN}


KINDS = ["file", "ics", "simplepractice", "therapynotes", "calendly", "zoom", "fhir", "rest"]


@pytest.mark.parametrize("kind", KINDS)
def test_init_then_doctor_passes_for_every_source_kind(
    kind: str, tmp_path: Path, fakes: Any
) -> None:
    target = tmp_path / "conf dir" / "config.toml"
    answers, secrets = _answers(kind, tmp_path)
    env = {"LINKCLI_CONFIG": None, "LINKCLI_NOW": NOW, **secrets}
    result = runner.invoke(
        app, ["init", "--config", str(target)], input="\n".join(answers) + "\n", env=env
    )
    assert result.exit_code == 0, result.output
    assert "Checking it now (linkcli doctor)" in result.stdout
    assert "check(s) failed" not in result.stderr, result.output

    doctor = runner.invoke(app, ["doctor", "--json", "--config", str(target)], env=env)
    assert doctor.exit_code == 0, doctor.output
    report = json.loads(doctor.stdout)
    assert report["counts"]["fail"] == 0, report
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["delivery"]["status"] == "warn"  # outbox: test mode, said by doctor too
    assert "nothing reaches clients" in checks["delivery"]["detail"]
    if kind == "fhir":
        chen = load_config(target, {}).therapists["prac-chen"]
        assert (chen.display_name, chen.link) == ("Dr. Chen", fhir.FALLBACK)
    if kind in ("ics", "simplepractice", "therapynotes"):
        config = load_config(target, {})
        assert config.therapists["th-patel"].display_name == "Dr. Patel"
        assert (config.therapists["th-patel"].link == PORTAL) is (kind == "therapynotes")
