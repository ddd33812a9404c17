"""`linkcli init`: ask a few questions (or take flags), write a working config.

Framework-free: the CLI hands in an `ask(question, default) -> answer` function, so the
same questions serve a person at a terminal, a script passing flags, and tests. Every
answer is validated where it is given; a bad answer is asked again, a bad flag is a
usage error. The file is written owner-only, validated by the real loader before it
replaces anything, and never overwrites an existing config without `--force`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from linkcli.config import SOURCE_KINDS, Config, default_config_path, load_config
from linkcli.core.language import normalize_tag, tag_problem
from linkcli.core.phones import normalize_mobile
from linkcli.errors import ConfigError, ExitCode, LinkcliError

Ask = Callable[[str, str | None], str]
Answers = dict[str, str]

ICS_KINDS = ("ics", "simplepractice", "therapynotes")
API_DEFAULT_URLS = {
    "calendly": "https://api.calendly.com",
    "zoom": "https://api.zoom.us/v2",
    "fhir": None,  # every EHR has its own FHIR endpoint
    "rest": None,
}
SMTP_PORTS = {"starttls": "587", "ssl": "465", "none": "25"}


@dataclass(frozen=True)
class Question:
    """One setting: how it is asked, its default, how it is checked, when it applies."""

    key: str
    flag: str
    prompt: str
    default: Callable[[Answers], str | None]
    check: Callable[[str, Answers], str]  # returns the clean value or raises ValueError
    applies: Callable[[Answers], bool] = lambda _a: True


def _text(value: str, _answers: Answers) -> str:
    value = value.strip()
    if not value:
        raise ValueError("an answer is needed")
    if len(value) > 80 or any(not ch.isprintable() for ch in value):
        raise ValueError("one line of at most 80 printable characters")
    return value


def _timezone(value: str, _answers: Answers) -> str:
    value = value.strip()
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{value!r} is not an IANA time zone (e.g. America/Chicago, Europe/London)"
        ) from None
    return value


def _country(value: str, _answers: Answers) -> str:
    value = value.strip().upper()
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{value!r} is not a two-letter country code (e.g. US, CA, GB)")
    return value


def _language(value: str, _answers: Answers) -> str:
    value = value.strip()
    if problem := tag_problem(value):
        raise ValueError(problem)
    return normalize_tag(value) or value


def _choice(*choices: str) -> Callable[[str, Answers], str]:
    def check(value: str, _answers: Answers) -> str:
        value = value.strip().lower()
        if value not in choices:
            raise ValueError(f"{value!r} is not one of: {', '.join(choices)}")
        return value

    return check


def _url(value: str, _answers: Answers, allow_path: bool = False) -> str:
    """https; plain http only for a loopback host; a local path where a feed allows one."""
    value = value.strip()
    parsed = urlparse(value)
    if parsed.scheme == "https" and parsed.hostname:
        return value
    if parsed.scheme == "http" and parsed.hostname in ("127.0.0.1", "localhost", "::1"):
        return value
    if allow_path and value and parsed.scheme in ("", "file"):
        return value
    where = "an https URL" + (" or a local file path" if allow_path else "")
    raise ValueError(f"{value!r} is not {where} (plain http only for a loopback host)")


def _feed(value: str, answers: Answers) -> str:
    return _url(value, answers, allow_path=True)


def _path(value: str, _answers: Answers) -> str:
    value = value.strip()
    if not value:
        raise ValueError("a file path is needed")
    return value


def _therapist_id(value: str, _answers: Answers) -> str:
    value = value.strip()
    if not value or any(ch in value for ch in "\"'\\\n") or len(value) > 60:
        raise ValueError("a short id without quotes (e.g. th-1)")
    return value


def _from_number(value: str, answers: Answers) -> str:
    result = normalize_mobile(value, answers.get("country", "US"))
    if result.e164 is None:
        raise ValueError(
            (result.problem or f"{value!r} is not a phone number")
            + "; write the Twilio number in E.164, e.g. +16175550199"
        )
    return result.e164


def _port(value: str, _answers: Answers) -> str:
    value = value.strip()
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ValueError(f"{value!r} is not a port number (587 for starttls, 465 for ssl)")
    return str(int(value))


def _email(value: str, _answers: Answers) -> str:
    value = value.strip()
    local, at, domain = value.rpartition("@")
    if not at or not local or "." not in domain or any(ch.isspace() for ch in value):
        raise ValueError(f"{value!r} is not an email address")
    return value


def _is(key: str, *values: str) -> Callable[[Answers], bool]:
    return lambda answers: answers.get(key) in values


QUESTIONS: tuple[Question, ...] = (
    Question(
        "practice_name",
        "--practice-name",
        "Practice name (as clients know it)",
        lambda a: "Our practice",
        _text,
    ),
    Question(
        "timezone",
        "--timezone",
        "Practice time zone (IANA, e.g. America/Chicago)",
        lambda a: "America/New_York",
        _timezone,
    ),
    Question(
        "country",
        "--country",
        "Country (two letters; for numbers written without +)",
        lambda a: "US",
        _country,
    ),
    Question(
        "language",
        "--language",
        "Language clients read unless they have their own (en, es)",
        lambda a: "en",
        _language,
    ),
    Question(
        "source",
        "--source",
        "Where appointments come from (" + ", ".join(SOURCE_KINDS) + ")",
        lambda a: "file",
        _choice(*SOURCE_KINDS),
    ),
    Question(
        "source_path",
        "--source-path",
        "Appointments file (canonical JSON, relative to the config)",
        lambda a: "appointments.json",
        _path,
        _is("source", "file"),
    ),
    Question(
        "feed_url",
        "--feed-url",
        "Calendar feed URL (https, or a local .ics path)",
        lambda a: None,
        _feed,
        _is("source", *ICS_KINDS),
    ),
    Question(
        "therapist_id",
        "--therapist-id",
        "Therapist id for this feed",
        lambda a: "th-1",
        _therapist_id,
        _is("source", *ICS_KINDS),
    ),
    Question(
        "base_url",
        "--base-url",
        "API base URL",
        lambda a: API_DEFAULT_URLS.get(a.get("source", "")),
        _url,
        _is("source", *API_DEFAULT_URLS),
    ),
    Question(
        "sms_provider",
        "--sms-provider",
        "SMS provider (twilio, or outbox to write texts to a file)",
        lambda a: "outbox",
        _choice("twilio", "outbox"),
    ),
    Question(
        "from_number",
        "--from-number",
        "Twilio number texts come from (E.164)",
        lambda a: None,
        _from_number,
        _is("sms_provider", "twilio"),
    ),
    Question(
        "email_provider",
        "--email-provider",
        "Email provider (smtp, or outbox to write email to a file)",
        lambda a: "outbox",
        _choice("smtp", "outbox"),
    ),
    Question(
        "smtp_host",
        "--smtp-host",
        "SMTP server host",
        lambda a: None,
        _text,
        _is("email_provider", "smtp"),
    ),
    Question(
        "security",
        "--security",
        "SMTP security (starttls, ssl, none)",
        lambda a: "starttls",
        _choice("starttls", "ssl", "none"),
        _is("email_provider", "smtp"),
    ),
    Question(
        "smtp_port",
        "--smtp-port",
        "SMTP port",
        lambda a: SMTP_PORTS.get(a.get("security", ""), "587"),
        _port,
        _is("email_provider", "smtp"),
    ),
    Question(
        "from_address",
        "--from-address",
        "Email From address",
        lambda a: None,
        _email,
        _is("email_provider", "smtp"),
    ),
)


def gather(
    given: Mapping[str, str | None], ask: Ask | None, warn: Callable[[str], None]
) -> Answers:
    """Every answer that applies: from a flag, else asked (`ask`), else the default.

    `ask` is None for `--yes`: defaults are taken, and a setting without one must come
    as a flag. A bad flag value is a usage error; a bad typed answer is asked again.
    """
    answers: Answers = {}
    for q in QUESTIONS:
        if not q.applies(answers):
            continue
        raw = given.get(q.key)
        if raw is not None:
            try:
                answers[q.key] = q.check(str(raw), answers)
            except ValueError as exc:
                raise LinkcliError(f"{q.flag}: {exc}", ExitCode.USAGE) from None
            continue
        default = q.default(answers)
        if ask is None:
            if default is None:
                raise LinkcliError(
                    f"{q.flag} is needed ({q.prompt.lower()}): it has no "
                    "default to take with --yes",
                    ExitCode.USAGE,
                )
            answers[q.key] = q.check(default, answers)
            continue
        while True:
            try:
                answers[q.key] = q.check(ask(q.prompt, default), answers)
                break
            except ValueError as exc:
                warn(f"{exc}; try again")
    return answers


def _q(value: str) -> str:
    """A TOML basic string (JSON's escapes are valid TOML)."""
    return json.dumps(value)


def render_config(a: Answers) -> str:
    """The config file for these answers, with comments that say what to do next."""
    lines = [
        "# linkcli configuration, written by `linkcli init`. config.example.toml documents",
        "# every key. Secrets never go here: they are read from the environment.",
        "",
        "[practice]",
        f"name = {_q(a['practice_name'])}",
        f"timezone = {_q(a['timezone'])}",
        f"country = {_q(a['country'])}",
        f"language = {_q(a['language'])}  # clients with a language of their own get it when "
        "there are templates for it",
        "",
        "[store]",
        'path = "linkcli.db"  # relative to this file; holds client contacts (kept 0600)',
        "",
        "[source]",
        f"kind = {_q(a['source'])}",
    ]
    kind = a["source"]
    if kind == "file":
        lines.append(f"path = {_q(a['source_path'])}")
    elif kind in ICS_KINDS:
        lines.append(
            f"feeds = [{{ therapist = {_q(a['therapist_id'])}, "
            f"url = {_q(a['feed_url'])} }}]  # one per therapist"
        )
    else:
        lines.append(f"base_url = {_q(a['base_url'])}")
        if kind == "zoom":
            lines += [
                'oauth_url = "https://zoom.us/oauth/token"',
                'users = ["me"]  # whose meetings are read',
            ]
        if kind == "rest":
            lines.append("# The field mapping keys are documented in config.example.toml.")
    if kind in ICS_KINDS or kind == "zoom":
        lines += [
            "",
            "[contacts]  # this source carries no client phone/email: joined from this file",
            'path = "contacts.csv"  # columns: client,name,email,mobile,channels,timezone',
        ]
    if kind in ICS_KINDS:
        lines += [
            "",
            f"[therapists.{_q(a['therapist_id'])}]",
            '# name = "Maya Chen"',
            '# display_name = "Dr. Chen"  # what clients see in messages',
            "# A fixed link for sessions that carry none (TherapyNotes: the therapist's",
            "# TherapyPortal waiting room):",
            '# link = "https://..."',
        ]
    lines += ["", "[sms]", f"provider = {_q(a['sms_provider'])}"]
    if a["sms_provider"] == "twilio":
        lines.append(f"from_number = {_q(a['from_number'])}")
    else:
        lines.append('outbox_path = "outbox-sms.jsonl"  # texts are written here, not sent')
    lines += ["", "[email]", f"provider = {_q(a['email_provider'])}"]
    if a["email_provider"] == "smtp":
        lines += [
            f"smtp_host = {_q(a['smtp_host'])}",
            f"smtp_port = {int(a['smtp_port'])}",
            f"security = {_q(a['security'])}",
            f"from_address = {_q(a['from_address'])}",
        ]
    else:
        lines.append('outbox_path = "outbox-email.jsonl"  # email is written here, not sent')
    lines += [
        "",
        "# The default sequence applies: a booking confirmation email, a reminder by SMS and",
        "# email 24h before, and an SMS 30 min before. Define [[sequence]] steps to change it.",
        "",
    ]
    return "\n".join(lines)


def target_path(config: Path | None, env: Mapping[str, str]) -> Path:
    """--config, else $LINKCLI_CONFIG, else the platform's config folder."""
    return (config.expanduser() if config else default_config_path(env)).absolute()


def refuse_overwrite(path: Path, force: bool) -> None:
    """Exit 2 before any question when the config exists and --force was not given."""
    if path.exists() and not force:
        raise LinkcliError(
            f"{path} already exists and was not changed; run `linkcli init --force` to replace it",
            ExitCode.USAGE,
        )
    if path.exists() and path.is_dir():
        raise LinkcliError(f"{path} is a folder; name a file with --config", ExitCode.USAGE)


def write_config(path: Path, text: str, env: Mapping[str, str]) -> Config:
    """Write `text` owner-only, validated by the real loader before it replaces anything."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise LinkcliError(f"cannot create {path.parent}: {exc.strerror}", ExitCode.USAGE) from None
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            os.fchmod(fh.fileno(), 0o600)  # the umask may have taken bits off; set exactly
            fh.write(text)
        try:
            load_config(tmp, env)
        except ConfigError as exc:  # a bug in the questions above, never the user's
            raise LinkcliError(
                f"the generated config does not load ({exc.message}); nothing was written",
                ExitCode.USAGE,
            ) from None
        os.replace(tmp, path)
    except OSError as exc:
        raise LinkcliError(f"cannot write {path}: {exc.strerror}", ExitCode.USAGE) from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return load_config(path, env)


@dataclass
class InitResult:
    """What was written and what the operator still has to do."""

    path: Path
    default_location: bool
    secrets: list[tuple[str, str, bool]] = field(default_factory=list)
    todo: list[str] = field(default_factory=list)
    cron: list[str] = field(default_factory=list)
    cron_single: str = ""


def next_steps(config: Config, path: Path, env: Mapping[str, str]) -> InitResult:
    """The environment variables still to set, files to create, and the cron lines."""
    from linkcli.shared import secret_names

    platform = default_config_path({k: v for k, v in env.items() if k != "LINKCLI_CONFIG"})
    default = platform.expanduser().absolute() == path
    # cron does not see LINKCLI_CONFIG from a shell profile: name the file unless it is
    # where linkcli looks anyway.
    opt = "" if default else f" --config {path}"
    todo: list[str] = []
    settings = config.source.settings
    if config.source.kind == "file" and not Path(settings["path"]).exists():
        todo.append(
            f"put the schedule in {settings['path']} (canonical JSON; "
            "`linkcli demo --keep DIR` writes an example)"
        )
    if config.contacts_path is not None and not config.contacts_path.exists():
        todo.append(
            f"create {config.contacts_path} (columns: client,name,email,mobile,"
            "channels,timezone): the calendar feed carries no phone or email"
        )
    todo += [
        f"check everything: linkcli doctor{opt}",
        f"look at the coming week's messages: linkcli preview{opt}",
    ]
    cron = [f"*/15 * * * * linkcli sync{opt}", f"* * * * * linkcli dispatch{opt}"]
    return InitResult(
        path, default, secret_names(config), todo, cron, f"* * * * * linkcli run{opt}"
    )
