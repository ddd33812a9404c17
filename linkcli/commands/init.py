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
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from linkcli.config import SOURCE_KINDS, Config, default_config_path, load_config
from linkcli.core.language import normalize_tag, tag_problem
from linkcli.core.phones import normalize_mobile
from linkcli.core.suggest import did_you_mean
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
            hint = did_you_mean(value, choices)
            raise ValueError(f"{value!r} is not one of: {', '.join(choices)}{hint}")
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


def _optional_text(value: str, answers: Answers) -> str:
    return _text(value, answers) if value.strip() else ""


def _link(value: str, answers: Answers) -> str:
    """A therapist's fixed link: required for TherapyNotes (its feed carries none)."""
    if not value.strip():
        if answers.get("source") == "therapynotes":
            raise ValueError(
                "TherapyNotes feeds carry no session link: give the therapist's "
                "TherapyPortal waiting-room link (https://...)"
            )
        return ""
    return _url(value, answers)


# A starting field mapping for the `rest` source: the canonical appointment's own names,
# so an API (or gateway) that speaks linkcli's exchange format works as written.
REST_MAP = (
    ("id", "id"),
    ("status", "status"),
    ("start", "start"),
    ("end", "end"),
    ("format", "format"),
    ("link", "telehealth_url"),
    ("therapist_id", "therapist.id"),
    ("therapist_name", "therapist.name"),
    ("therapist_display_name", "therapist.display_name"),
    ("participants", "participants"),
    ("participant_id", "id"),
    ("name", "name"),
    ("first_name", "first_name"),
    ("email", "email"),
    ("mobile", "mobile"),
    ("timezone", "timezone"),
)

NEEDS_CONTACTS = (*ICS_KINDS, "zoom")  # sources that carry no client phone or email


QUESTIONS: tuple[Question, ...] = (
    Question(
        "practice_name",
        "--name",
        "Practice name (as clients know it; it goes into their messages)",
        lambda a: None,  # never invented: "Our practice" would reach clients
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
        lambda a: None,
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
        "base_url",
        "--base-url",
        "API base URL",
        lambda a: API_DEFAULT_URLS.get(a.get("source", "")),
        _url,
        _is("source", *API_DEFAULT_URLS),
    ),
    Question(
        "oauth_url",
        "--oauth-url",
        "Zoom OAuth token URL",
        lambda a: "https://zoom.us/oauth/token",
        _url,
        _is("source", "zoom"),
    ),
    Question(
        "rest_path",
        "--rest-path",
        "Path of the appointments list under the base URL",
        lambda a: "/appointments",
        _path,
        _is("source", "rest"),
    ),
    Question(
        "contacts_path",
        "--contacts",
        "Contacts file (CSV: client,name,email,mobile,channels,timezone; "
        "written with its header if new)",
        lambda a: "contacts.csv",
        _path,
        _is("source", *NEEDS_CONTACTS),
    ),
    Question(
        "sms_provider",
        "--sms-provider",
        "Texts: twilio (real texts) or outbox (test mode: written to a file, nobody gets them)",
        lambda a: None,  # asked, never assumed: an outbox reaches no client
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
        "Email: smtp (real email) or outbox (test mode: written to a file, nobody gets it)",
        lambda a: None,
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

# Asked once per therapist of a calendar-feed source (one feed each); the first set
# also comes from flags, further ones are asked until the answer is blank.
THERAPIST_QUESTIONS: tuple[Question, ...] = (
    Question(
        "therapist_id",
        "--therapist-id",
        "Therapist id (short, e.g. th-1; used under [therapists])",
        lambda a: "th-1",
        _therapist_id,
    ),
    Question(
        "therapist_name",
        "--therapist-name",
        "Therapist's full name",
        lambda a: None,
        _text,
    ),
    Question(
        "therapist_display",
        "--therapist-display-name",
        "Name clients see in messages (e.g. Dr. Chen)",
        lambda a: None,
        _text,
    ),
    Question(
        "feed_url",
        "--feed-url",
        "Their calendar feed URL (https, or a local .ics path)",
        lambda a: None,
        _feed,
    ),
    Question(
        "therapist_link",
        "--therapist-link",
        "Fixed session link for sessions that carry none "
        "(TherapyNotes: the TherapyPortal waiting room; Enter for none)",
        lambda a: "",
        _link,
    ),
)


def _one(
    q: Question,
    answers: Answers,
    raw: str | None,
    ask: Ask | None,
    warn: Callable[[str], None],
    key: str,
) -> None:
    """One answer: from a flag (a bad one is a usage error), else asked again until it
    is good, else (with --yes) the default; a setting without a default needs its flag."""
    if raw is not None:
        try:
            answers[key] = q.check(str(raw), answers)
        except ValueError as exc:
            raise LinkcliError(f"{q.flag}: {exc}", ExitCode.USAGE) from None
        return
    default = q.default(answers)
    if ask is None:
        if default is None:
            raise LinkcliError(
                f"{q.flag} is needed ({q.prompt[0].lower() + q.prompt[1:]}): give it, or run "
                "without --yes to answer the question",
                ExitCode.USAGE,
            )
        try:
            answers[key] = q.check(default, answers)
        except ValueError as exc:  # a default that does not fit this setup (a portal link)
            raise LinkcliError(f"{q.flag}: {exc}", ExitCode.USAGE) from None
        return
    while True:
        try:
            answers[key] = q.check(ask(q.prompt, default), answers)
            return
        except ValueError as exc:
            warn(f"{exc}; try again")


def gather(
    given: Mapping[str, str | None], ask: Ask | None, warn: Callable[[str], None]
) -> Answers:
    """Every answer that applies: from a flag, else asked (`ask`), else the default.

    `ask` is None for `--yes`: defaults are taken, and a setting without one (the
    practice name, the source, the providers) must come as a flag. A bad flag value is
    a usage error; a bad typed answer is asked again.
    """
    answers: Answers = {}
    for q in QUESTIONS:
        if q.key == "sms_provider" and answers["source"] in API_DEFAULT_URLS:
            _therapists(given, ask, warn, answers)  # after the source's own settings
        if q.applies(answers):
            _one(q, answers, given.get(q.key), ask, warn, q.key)
            if q.key == "source" and answers["source"] in ICS_KINDS:
                _therapists(given, ask, warn, answers)
    return answers


# How each API source names a therapist: the id `[therapists."ID"]` is keyed by.
API_THERAPIST_IDS = {
    "calendly": "the Calendly user's email",
    "zoom": "the Zoom host_id",
    "fhir": "the Practitioner id",
    "rest": "the mapped therapist_id",
}


def _therapists(
    given: Mapping[str, str | None],
    ask: Ask | None,
    warn: Callable[[str], None],
    answers: Answers,
) -> None:
    """Per therapist: the id, name, display name, (a feed's) URL and fixed link. A feed
    source needs at least one; an API source names its therapists itself, so there each
    is optional, for a display name or a fixed link of one's own."""
    feeds = answers["source"] in ICS_KINDS
    questions = (
        THERAPIST_QUESTIONS if feeds else THERAPIST_QUESTIONS[1:3] + (THERAPIST_QUESTIONS[4],)
    )
    n = 0
    if feeds or given.get("therapist_id") is not None:
        _one(THERAPIST_QUESTIONS[0], answers, given.get("therapist_id"), ask, warn, "therapist_id")
        for q in questions[1:] if feeds else questions:
            _one(q, answers, given.get(q.key), ask, warn, q.key)
        n = 1
    while ask is not None:
        if feeds or n:
            prompt = "Another therapist's id (Enter when done)"
        else:
            prompt = (
                f"A therapist's id ({API_THERAPIST_IDS[answers['source']]}) to set the name "
                "clients see or a fixed link (Enter to skip)"
            )
        more = ask(prompt, "").strip()
        if not more:
            return
        try:
            tid = _therapist_id(more, answers)
            if tid in [t["id"] for t in therapists(answers)]:
                raise ValueError(f"{tid!r} is already set up")
        except ValueError as exc:
            warn(f"{exc}; try again")
            continue
        n += 1
        suffix = "" if n == 1 else f"_{n}"
        answers[f"therapist_id{suffix}"] = tid
        for q in questions[1:] if feeds else questions:
            _one(q, answers, None, ask, warn, f"{q.key}{suffix}")


def therapists(a: Answers) -> list[dict[str, str]]:
    """The therapists answered, in order: id, name, display name, feed, link."""
    out = []
    n = 1
    while (tid := a.get("therapist_id" if n == 1 else f"therapist_id_{n}")) is not None:
        suffix = "" if n == 1 else f"_{n}"
        out.append(
            {
                "id": tid,
                "name": a[f"therapist_name{suffix}"],
                "display": a[f"therapist_display{suffix}"],
                "feed": a.get(f"feed_url{suffix}", ""),
                "link": a.get(f"therapist_link{suffix}", ""),
            }
        )
        n += 1
    return out


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
        feeds = ", ".join(
            f"{{ therapist = {_q(t['id'])}, url = {_q(t['feed'])} }}" for t in therapists(a)
        )
        lines.append(f"feeds = [{feeds}]  # one per therapist")
    else:
        lines.append(f"base_url = {_q(a['base_url'])}")
        if kind == "zoom":
            lines += [
                f"oauth_url = {_q(a['oauth_url'])}",
                'users = ["me"]  # whose meetings are read',
            ]
        if kind == "rest":
            lines += [
                f"path = {_q(a['rest_path'])}",
                'items = "appointments"  # where each page holds its list ("" = the page is one)',
                "",
                "[source.map]  # the canonical field names: change each to the API's own path",
                "# (every key is documented in config.example.toml)",
                *(f"{key} = {_q(value)}" for key, value in REST_MAP),
            ]
    if kind in NEEDS_CONTACTS:
        lines += [
            "",
            "[contacts]  # this source carries no client phone/email: joined from this file",
            f"path = {_q(a['contacts_path'])}  # columns: client,name,email,mobile,channels,"
            "timezone",
        ]
    for t in therapists(a):
        lines += [
            "",
            f"[therapists.{_q(t['id'])}]",
            f"name = {_q(t['name'])}",
            f"display_name = {_q(t['display'])}  # what clients see in messages",
        ]
        if t["link"]:
            lines.append(f"link = {_q(t['link'])}  # for sessions that carry no link")
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
    written: list[str] = field(default_factory=list)  # starter files created
    unit_path: Path | None = None
    test_mode: str | None = None


def linkcli_executable() -> str:
    """The full path of this linkcli (cron's PATH rarely holds a venv's bin folder)."""
    beside = Path(sys.executable).with_name("linkcli")  # the venv's own script
    if beside.exists():
        return str(beside.absolute())
    found = shutil.which("linkcli")
    return str(Path(found).absolute()) if found else "linkcli"


def _sh(word: str) -> str:
    """One shell word for a crontab line: single-quoted, and cron's `%` (a newline to
    cron) escaped, so a path with spaces or a percent sign still works."""
    return "'" + word.replace("'", "'\\''").replace("%", "\\%") + "'"


def _unit_word(word: str) -> str:
    """One word of a systemd ExecStart line: double-quoted, `%` doubled (a specifier)."""
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%") + '"'


def write_starter_files(config: Config) -> list[str]:
    """Files a fresh setup needs to pass `doctor`, created only when absent: the contacts
    directory with its header (owner-only: it will hold phone numbers) and, for the
    `file` source, an empty appointments list."""
    from linkcli.private_file import write_private

    made: list[str] = []
    if config.contacts_path is not None and not config.contacts_path.exists():
        write_private(config.contacts_path, CONTACTS_HEADER + "\n")
        made.append(f"{config.contacts_path} (the header only: add one row per client)")
    if config.source.kind == "file":
        schedule = Path(config.source.settings["path"])
        if not schedule.exists():
            write_private(schedule, '{"appointments": []}\n')
            made.append(f"{schedule} (empty: linkcli reads the canonical JSON from it)")
    return made


CONTACTS_HEADER = "client,name,email,mobile,channels,timezone"


def write_unit(path: Path, exe: str) -> Path:
    """A systemd unit for `run --watch` next to the config (the alternative to cron)."""
    unit = path.with_name("linkcli.service")
    env_file = path.with_name("linkcli.env")
    text = "\n".join(
        [
            "# A systemd service for linkcli, the alternative to the crontab lines.",
            f"# Install: cp {_unit_word(str(unit))} ~/.config/systemd/user/ && "
            "systemctl --user enable --now linkcli",
            "# (and `loginctl enable-linger` so it runs while nobody is logged in)",
            "[Unit]",
            "Description=linkcli: telehealth links to therapy clients",
            "After=network-online.target",
            "",
            "[Service]",
            f"ExecStart={_unit_word(exe)} run --watch --config {_unit_word(str(path))}",
            "# Secrets as NAME=value lines in this owner-only file (a path, not quoted):",
            f"EnvironmentFile=-{str(env_file).replace('%', '%%')}",
            "Restart=on-failure",
            "RestartSec=30",
            "",
            "[Install]",
            "WantedBy=default.target",
            "",
        ]
    )
    unit.write_text(text, encoding="utf-8")
    return unit


def next_steps(
    config: Config, path: Path, env: Mapping[str, str], exe: str, written: list[str]
) -> InitResult:
    """The environment variables still to set, what was created, the cron lines and the
    systemd unit: every command line absolute and quoted, ready to paste."""
    from linkcli.shared import secret_names, test_mode

    platform = default_config_path({k: v for k, v in env.items() if k != "LINKCLI_CONFIG"})
    default = platform.expanduser().absolute() == path
    # cron sees neither the shell's PATH nor LINKCLI_CONFIG: name both in full.
    opt = f" --config {_sh(str(path))}"
    run = _sh(exe)
    todo: list[str] = []
    if config.contacts_path is not None:
        todo.append(
            f"add your clients to {config.contacts_path} (one row each; channels: "
            "email, text, both or none): the calendar feed carries no phone or email"
        )
    if config.source.kind == "file":
        todo.append(
            f"put the schedule in {config.source.settings['path']} (canonical JSON; "
            "`linkcli demo --keep DIR` writes an example)"
        )
    todo += [
        f"check everything again after a change: {run} doctor{opt}",
        f"look at the coming week's messages: {run} preview{opt}",
    ]
    cron = [f"*/15 * * * * {run} sync{opt}", f"* * * * * {run} dispatch{opt}"]
    return InitResult(
        path,
        default,
        secret_names(config),
        todo,
        cron,
        f"* * * * * {run} run{opt}",
        written,
        write_unit(path, exe),
        test_mode(config),
    )
