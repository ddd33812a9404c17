"""TOML config -> frozen dataclasses; every problem reported with its key and line."""

from __future__ import annotations

import math
import os
import re
import string
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from linkcli.core.durations import format_duration, parse_duration
from linkcli.core.language import builtin, fallbacks, normalize_tag, primary, tag_problem
from linkcli.core.links import (
    DEFAULT_ALLOWED_HOSTS,
    DEFAULT_REJECT_PATTERNS,
    LinkPolicy,
    validate_patterns,
)
from linkcli.core.optout import OPT_IN, OPT_OUT
from linkcli.core.plan import Step
from linkcli.core.suggest import did_you_mean
from linkcli.core.templates import FIELDS, TemplateSet, template_problems
from linkcli.core.verdict import QuietHours, parse_quiet_hours
from linkcli.errors import ConfigError
from linkcli.sources.settings import MAX_TIMEOUT, READERS, SETTINGS, env_name_problem

DEFAULT_TWILIO_BASE = "https://api.twilio.com"


@dataclass(frozen=True)
class PracticeConfig:
    """`[practice]`: who sends, in which zone, and the default phone region."""

    name: str = "Our practice"
    timezone: str = "America/New_York"
    country: str = "US"
    language: str = "en"  # BCP 47: clients without a language of their own read this one


@dataclass(frozen=True)
class SmsConfig:
    """`[sms]`: the SMS provider and its settings. Secrets come from the environment."""

    provider: str = "outbox"  # twilio | outbox
    from_number: str | None = None
    messaging_service_sid: str | None = None
    api_base_url: str = DEFAULT_TWILIO_BASE
    outbox_path: Path = Path("outbox-sms.jsonl")
    timeout: float = 10.0
    max_per_second: float | None = None
    opt_out_text: str = "Reply STOP to opt out."
    fold_accents: bool = True
    # No text goes inside this span of the client's day (None: off); see core/verdict.py.
    quiet_hours: QuietHours | None = QuietHours(time(21, 0), time(8, 0))


@dataclass(frozen=True)
class EmailConfig:
    """`[email]`: the email provider and its settings. Secrets come from the environment."""

    provider: str = "outbox"  # smtp | outbox
    smtp_host: str = "localhost"
    smtp_port: int = 587
    security: str = "starttls"  # starttls | ssl | none
    from_address: str = "reminders@example.org"
    from_name: str | None = None
    outbox_path: Path = Path("outbox-email.jsonl")
    timeout: float = 10.0


@dataclass(frozen=True)
class SourceConfig:
    """`[source]`: the kind and its raw settings (each source validates its own keys)."""

    kind: str = "file"
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SyncConfig:
    """`[sync]`: the window read from the source and the mass-vanish guard."""

    past: timedelta = timedelta(days=1)
    future: timedelta = timedelta(days=30)
    interval: timedelta = timedelta(minutes=15)
    vanish_ratio: float = 0.5
    vanish_min: int = 3


@dataclass(frozen=True)
class TherapistConfig:
    """`[therapists."ID"]`: names, a fixed link, and template overrides."""

    id: str
    name: str | None = None
    display_name: str | None = None
    link: str | None = None
    templates: dict[str, TemplateSet] = field(default_factory=dict)


@dataclass(frozen=True)
class ChangeMessagesConfig:
    """`[change_messages]`: what a client hears when a session they were told of changes."""

    link_changed: bool = True
    cancellation: bool = True


@dataclass(frozen=True)
class StatusConfig:
    """`[status]`: what `status --check` treats as a problem."""

    check_stale_sync: bool = True
    check_failed_sends: bool = True
    check_attention: bool = True


@dataclass(frozen=True)
class ReportConfig:
    """`[report]`: who gets `linkcli report --email`."""

    to: tuple[str, ...] = ()


@dataclass(frozen=True)
class RepliesConfig:
    """`[replies]`: answering clients who text for their link."""

    enabled: bool = True
    link_keywords: tuple[str, ...] = ("LINK",)
    link_ahead: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class Config:
    """The whole validated configuration of one practice."""

    path: Path
    practice: PracticeConfig
    store_path: Path
    max_snapshot_age: timedelta
    retention: timedelta
    sync: SyncConfig
    source: SourceConfig
    contacts_path: Path | None
    sms: SmsConfig
    email: EmailConfig
    links: LinkPolicy
    sequence: tuple[Step, ...]
    templates: dict[str, TemplateSet]
    therapists: dict[str, TherapistConfig]
    status: StatusConfig
    change_messages: ChangeMessagesConfig = ChangeMessagesConfig()
    report: ReportConfig = ReportConfig()
    replies: RepliesConfig = RepliesConfig()

    @property
    def base_dir(self) -> Path:
        """Relative paths in the config are relative to the config file's folder."""
        return self.path.parent

    def template(
        self, step: str, therapist_id: str | None, fld: str, language: str | None = None
    ) -> str | None:
        """The text for a step's field: therapist override, else practice, else built-in,
        in `language` (a BCP 47 tag; None: the practice's), else in the practice language.
        """
        found = self.template_origin(step, therapist_id, fld, language)
        return found[1] if found else None

    def template_origin(
        self, step: str, therapist_id: str | None, fld: str, language: str | None = None
    ) -> tuple[str, str] | None:
        """(where the text comes from, the text) for `template`; None when there is none.

        `where` names the table, e.g. `therapists."th-1".templates."final-30m".es` or
        `built-in es`, so doctor can say which templates each language uses.
        """
        for lang in self.language_chain(language):
            for where, layer in self._layers(step, therapist_id, lang):
                text = layer.get(fld)
                if text is not None:
                    return where, text
        return None

    def message_language(
        self, step: str, therapist_id: str | None, fields: tuple[str, ...], language: str | None
    ) -> str:
        """The language a message goes in: the participant's `language` (or a broader form
        of it, `es-MX` -> `es`) when it has every one of `fields`, else the practice's."""
        for lang in self.language_chain(language):
            layers = [layer for _, layer in self._layers(step, therapist_id, lang)]
            if all(any(ly.get(f) is not None for ly in layers) for f in fields):
                return lang
        return self.practice.language

    def language_chain(self, language: str | None) -> list[str]:
        """The languages to try, most wanted first, ending with the practice's own (each
        from the most specific form to the broadest: `es-MX`, `es`)."""
        wanted = fallbacks(language) if language else []
        return list(dict.fromkeys([*wanted, *fallbacks(self.practice.language)]))

    def _layers(
        self, step: str, therapist_id: str | None, lang: str
    ) -> list[tuple[str, TemplateSet]]:
        """(where, table) of `step` in `lang`, most specific first. A table without a
        language (`[templates."STEP"]`) is in the practice language, whatever its region."""
        own = [(f'templates."{step}"', self.templates.get(step))]
        if therapist_id and therapist_id in self.therapists:
            table = self.therapists[therapist_id].templates.get(step)
            own.insert(0, (f'therapists."{therapist_id}".templates."{step}"', table))
        layers: list[tuple[str, TemplateSet | None]] = []
        for where, table in own:
            if table is not None:
                layers.append((f"{where}.{lang}", table.languages.get(lang)))
                if primary(lang) == primary(self.practice.language):
                    layers.append((where, table))
        layers.append((f"built-in {lang}", builtin(lang, step)))
        return [(where, layer) for where, layer in layers if layer is not None]


DEFAULT_SEQUENCE: tuple[Step, ...] = (
    Step("confirmation", ("email",), None),
    Step("reminder-24h", ("sms", "email"), timedelta(hours=24)),
    Step("final-30m", ("sms",), timedelta(minutes=30)),
)

SOURCE_KINDS = ("file", "ics", "simplepractice", "therapynotes", "calendly", "zoom", "fhir", "rest")
_SECTIONS = (
    "practice",
    "store",
    "sync",
    "source",
    "contacts",
    "sms",
    "email",
    "links",
    "sequence",
    "templates",
    "therapists",
    "status",
    "change_messages",
    "report",
    "replies",
)


def default_config_path(env: Mapping[str, str]) -> Path:
    """`$LINKCLI_CONFIG`, else `config.toml` in the platform's config folder."""
    if env.get("LINKCLI_CONFIG"):
        return Path(env["LINKCLI_CONFIG"]).expanduser()
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    elif os.name == "nt":
        base = Path(env.get("APPDATA") or Path.home())
    else:
        base = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "linkcli" / "config.toml"


class _Lines:
    """Finds the line of a key in the TOML text, so errors can point at it."""

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    _KEY = re.compile(r"^\s*(\"[^\"]*\"|'[^']*'|[A-Za-z0-9_.\"-]+)\s*=")

    def __init__(self, text: str) -> None:
        self.index: dict[tuple[str, ...], int] = {}
        counters: dict[tuple[str, ...], int] = {}
        table: tuple[str, ...] = ()
        for number, line in enumerate(text.splitlines(), start=1):
            header = self._HEADER.match(line)
            if header:
                table = _split_key(header.group(2))
                if header.group(1) == "[[":
                    n = counters.get(table, 0)
                    counters[table] = n + 1
                    table = (*table, str(n))
                self.index.setdefault(table, number)
                continue
            key = self._KEY.match(line)
            if key:
                self.index.setdefault((*table, *_split_key(key.group(1))), number)

    def of(self, *path: str) -> str:
        """`line N` for the deepest part of `path` found, or '' when unknown."""
        for end in range(len(path), 0, -1):
            number = self.index.get(tuple(path[:end]))
            if number:
                return f"line {number}"
        return ""


def _split_key(key: str) -> tuple[str, ...]:
    parts = re.findall(r'"([^"]*)"|\'([^\']*)\'|([^.\s]+)', key)
    return tuple(next(p for p in part if p) if any(part) else "" for part in parts)


class _Reader:
    """Reads typed values out of the raw TOML, collecting every problem it meets."""

    def __init__(self, raw: dict[str, Any], lines: _Lines) -> None:
        self.raw = raw
        self.lines = lines
        self.problems: list[str] = []

    def problem(self, path: tuple[str, ...], message: str) -> None:
        where = self.lines.of(*path)
        key = ".".join(path)
        self.problems.append(f"{key}" + (f" ({where})" if where else "") + f": {message}")

    def table(self, *path: str) -> dict[str, Any]:
        node: Any = self.raw
        for part in path:
            node = node.get(part, {}) if isinstance(node, dict) else {}
        if not isinstance(node, dict):
            self.problem(path, "must be a table")
            return {}
        return node

    def get(self, path: tuple[str, ...], kind: type | tuple[type, ...], default: Any) -> Any:
        table = self.table(*path[:-1])
        if path[-1] not in table:
            return default
        value = table[path[-1]]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            kinds = (kind,) if isinstance(kind, type) else kind
            names = " or ".join(k.__name__ for k in kinds)
            self.problem(path, f"must be {_toml_type(names)}, found {value!r}")
            return default
        return value

    def text(self, path: tuple[str, ...], default: Any = None) -> Any:
        return self.get(path, str, default)

    def choice(self, path: tuple[str, ...], choices: tuple[str, ...], default: str) -> str:
        value = self.text(path, default)
        if value not in choices:
            hint = did_you_mean(value, choices)
            self.problem(path, f"{value!r} is not one of: {', '.join(choices)}{hint}")
            return default
        return value

    def duration(
        self, path: tuple[str, ...], default: timedelta, minimum: timedelta = timedelta(0)
    ) -> timedelta:
        value = self.text(path)
        if value is None:
            return default
        checked = _checked_duration(value)
        if isinstance(checked, str):
            self.problem(path, checked)
            return default
        if checked < minimum:
            self.problem(path, f"must be at least {format_duration(minimum)}, found {value!r}")
            return default
        return checked

    def number(
        self,
        path: tuple[str, ...],
        kind: type[int] | type[float],
        default: Any,
        low: float,
        high: float,
        low_open: bool = False,
    ) -> Any:
        """A finite number in [low, high] (or (low, high] with `low_open`)."""
        value = self.get(path, kind, default)
        if value is None or value is default:
            return value
        if not math.isfinite(value) or value > high or value < low or (low_open and value == low):
            opening = "(" if low_open else "["
            self.problem(path, f"must be a number in {opening}{low:g}, {high:g}], found {value!r}")
            return default
        return value

    def unknown_keys(self, path: tuple[str, ...], known: tuple[str, ...]) -> None:
        for key in self.table(*path):
            if key not in known:
                hint = did_you_mean(key, known)
                self.problem((*path, key), f"unknown key{hint}; known keys: {', '.join(known)}")


# No setting is meaningful beyond ten years, and far larger values overflow date arithmetic.
MAX_DURATION = timedelta(days=3660)


def _checked_duration(text: str) -> timedelta | str:
    """The duration written in `text`, or the one-line problem with it."""
    try:
        value = parse_duration(text)
    except ValueError as exc:
        return str(exc)
    except OverflowError:
        value = MAX_DURATION * 2
    if value > MAX_DURATION:
        return f"{text!r} is too long; at most {format_duration(MAX_DURATION)}"
    return value


def _toml_type(names: str) -> str:
    words = {
        "str": "a string",
        "int": "an integer",
        "bool": "true or false",
        "float": "a number",
        "list": "a list",
        "dict": "a table",
    }
    return " or ".join(words.get(n, n) for n in names.split(" or "))


def _check_url(reader: _Reader, path: tuple[str, ...], value: str, allow_path: bool) -> None:
    """https only; plain http only for a loopback host (a local test server or proxy)."""
    parsed = urlparse(value)
    if parsed.scheme == "https" and parsed.hostname:
        return
    if parsed.scheme == "http" and parsed.hostname in ("127.0.0.1", "localhost", "::1"):
        return
    if allow_path and parsed.scheme in ("", "file", "webcal"):
        return  # a local feed path, or a calendar-subscription link (read over https)
    reader.problem(path, f"{value!r} must be an https URL (plain http only for a loopback host)")


def load_config(path: Path, env: Mapping[str, str]) -> Config:
    """Read and validate the config at `path`; raise ConfigError listing every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"no config file at {path}; create one with `linkcli init` "
            "or point --config / LINKCLI_CONFIG at it"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", str(path)) from None
    return parse_config(raw, _Lines(text), path)


def parse_config(raw: dict[str, Any], lines: _Lines, path: Path) -> Config:
    """Turn parsed TOML into a `Config`, or raise ConfigError with every problem found."""
    r = _Reader(raw, lines)
    for key in raw:
        if key not in _SECTIONS:
            hint = did_you_mean(key, _SECTIONS)
            r.problem((key,), f"unknown section{hint}; known: {', '.join(_SECTIONS)}")
    base = path.parent

    def local(p: str) -> Path:
        # Absolute, ".." folded, but a symbolic link is kept as named: the store and the
        # outboxes refuse one rather than write where it points.
        return Path(os.path.abspath(base / Path(p).expanduser()))

    r.unknown_keys(("practice",), ("name", "timezone", "country", "language"))
    tz = r.text(("practice", "timezone"), PracticeConfig.timezone)
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        r.problem(
            ("practice", "timezone"), f"{tz!r} is not an IANA time zone (e.g. America/Chicago)"
        )
        tz = PracticeConfig.timezone
    country = r.text(("practice", "country"), "US").upper()
    if len(country) != 2 or not country.isalpha():
        r.problem(("practice", "country"), f"{country!r} is not a two-letter country code")
    language = r.text(("practice", "language"), PracticeConfig.language)
    if problem := tag_problem(language):
        r.problem(("practice", "language"), problem)
    practice = PracticeConfig(
        name=r.text(("practice", "name"), PracticeConfig.name),
        timezone=tz,
        country=country,
        language=normalize_tag(language) or PracticeConfig.language,
    )

    r.unknown_keys(("store",), ("path", "max_snapshot_age", "retention"))
    store_path = local(r.text(("store", "path"), "linkcli.db"))
    max_age = r.duration(("store", "max_snapshot_age"), timedelta(hours=12))
    retention = r.duration(("store", "retention"), timedelta(days=90))

    r.unknown_keys(("sync",), ("past", "future", "interval", "vanish_ratio", "vanish_min"))
    sync = SyncConfig(
        past=r.duration(("sync", "past"), SyncConfig.past),
        future=r.duration(("sync", "future"), SyncConfig.future, timedelta(hours=1)),
        interval=r.duration(("sync", "interval"), SyncConfig.interval),
        # nan would compare false everywhere and switch the mass-vanish guard off.
        vanish_ratio=r.number(("sync", "vanish_ratio"), float, SyncConfig.vanish_ratio, 0, 1),
        vanish_min=r.number(("sync", "vanish_min"), int, SyncConfig.vanish_min, 0, 100_000),
    )

    if "source" not in raw:
        r.problem(("source",), 'missing table; add [source] with kind = "file" and path')
    kind = r.choice(("source", "kind"), SOURCE_KINDS, "file")
    settings = _read_source(r, kind)
    if kind == "file" and isinstance(settings.get("path"), str):
        settings["path"] = str(local(settings["path"]))
    source = SourceConfig(kind=kind, settings=settings)

    r.unknown_keys(("contacts",), ("path",))
    contacts = r.text(("contacts", "path"))
    contacts_path = local(contacts) if contacts else None

    sms_keys = (
        "provider",
        "from_number",
        "messaging_service_sid",
        "api_base_url",
        "outbox_path",
        "timeout",
        "max_per_second",
        "opt_out_text",
        "fold_accents",
        "quiet_hours",
    )
    r.unknown_keys(("sms",), sms_keys)
    quiet: QuietHours | None = SmsConfig.quiet_hours
    quiet_text = r.get(("sms", "quiet_hours"), str, None)
    if quiet_text is not None:
        try:
            quiet = parse_quiet_hours(quiet_text)
        except ValueError as exc:
            r.problem(("sms", "quiet_hours"), str(exc))
    sms = SmsConfig(
        provider=r.choice(("sms", "provider"), ("twilio", "outbox"), "outbox"),
        from_number=r.text(("sms", "from_number")),
        messaging_service_sid=r.text(("sms", "messaging_service_sid")),
        api_base_url=r.text(("sms", "api_base_url"), DEFAULT_TWILIO_BASE).rstrip("/"),
        outbox_path=local(r.text(("sms", "outbox_path"), "outbox-sms.jsonl")),
        timeout=r.number(("sms", "timeout"), float, 10.0, 0, MAX_TIMEOUT, low_open=True),
        max_per_second=r.number(("sms", "max_per_second"), float, None, 0, 1000, low_open=True),
        opt_out_text=r.text(("sms", "opt_out_text"), SmsConfig.opt_out_text),
        fold_accents=r.get(("sms", "fold_accents"), bool, True),
        quiet_hours=quiet,
    )
    _check_url(r, ("sms", "api_base_url"), sms.api_base_url, allow_path=False)
    if sms.provider == "twilio" and not (sms.from_number or sms.messaging_service_sid):
        r.problem(("sms", "from_number"), "twilio needs from_number or messaging_service_sid")

    email_keys = (
        "provider",
        "smtp_host",
        "smtp_port",
        "security",
        "from_address",
        "from_name",
        "outbox_path",
        "timeout",
    )
    r.unknown_keys(("email",), email_keys)
    email = EmailConfig(
        provider=r.choice(("email", "provider"), ("smtp", "outbox"), "outbox"),
        smtp_host=r.text(("email", "smtp_host"), "localhost"),
        smtp_port=r.number(("email", "smtp_port"), int, 587, 1, 65535),
        security=r.choice(("email", "security"), ("starttls", "ssl", "none"), "starttls"),
        from_address=r.text(("email", "from_address"), EmailConfig.from_address),
        from_name=r.text(("email", "from_name"), practice.name),
        outbox_path=local(r.text(("email", "outbox_path"), "outbox-email.jsonl")),
        timeout=r.number(("email", "timeout"), float, 10.0, 0, MAX_TIMEOUT, low_open=True),
    )
    if "@" not in email.from_address:
        r.problem(("email", "from_address"), f"{email.from_address!r} is not an email address")

    r.unknown_keys(("links",), ("allowed_hosts", "reject_patterns"))
    allowed = r.get(("links", "allowed_hosts"), list, list(DEFAULT_ALLOWED_HOSTS))
    rejects = r.get(("links", "reject_patterns"), list, list(DEFAULT_REJECT_PATTERNS))
    for name, values in (("allowed_hosts", allowed), ("reject_patterns", rejects)):
        if not all(isinstance(v, str) for v in values):
            r.problem(("links", name), "must be a list of strings")
    for message in validate_patterns([p for p in rejects if isinstance(p, str)]):
        r.problem(("links", "reject_patterns"), message)
    links = LinkPolicy(
        allowed_hosts=tuple(h.lower().strip(".") for h in allowed if isinstance(h, str)),
        reject_patterns=tuple(p for p in rejects if isinstance(p, str)),
    )

    sequence = _read_sequence(r, raw)
    templates = _read_templates(r, ("templates",))
    therapists: dict[str, TherapistConfig] = {}
    for tid, table in r.table("therapists").items():
        if not isinstance(table, dict):
            r.problem(("therapists", tid), "must be a table")
            continue
        r.unknown_keys(("therapists", tid), ("name", "display_name", "link", "templates"))
        link = r.text(("therapists", tid, "link"))
        therapists[tid] = TherapistConfig(
            id=tid,
            name=r.text(("therapists", tid, "name")),
            display_name=r.text(("therapists", tid, "display_name")),
            link=link,
            templates=_read_templates(r, ("therapists", tid, "templates")),
        )

    r.unknown_keys(("status",), ("check_stale_sync", "check_failed_sends", "check_attention"))
    status = StatusConfig(
        check_stale_sync=r.get(("status", "check_stale_sync"), bool, True),
        check_failed_sends=r.get(("status", "check_failed_sends"), bool, True),
        check_attention=r.get(("status", "check_attention"), bool, True),
    )

    r.unknown_keys(("change_messages",), ("link_changed", "cancellation"))
    change_messages = ChangeMessagesConfig(
        link_changed=r.get(("change_messages", "link_changed"), bool, True),
        cancellation=r.get(("change_messages", "cancellation"), bool, True),
    )

    r.unknown_keys(("report",), ("to",))
    report_to = r.get(("report", "to"), (str, list), [])
    addresses = [report_to] if isinstance(report_to, str) else report_to
    if not all(isinstance(a, str) and "@" in a for a in addresses):
        r.problem(("report", "to"), "must be an email address or a list of them")
        addresses = []

    replies = _read_replies(r)

    config = Config(
        path=path,
        practice=practice,
        store_path=store_path,
        max_snapshot_age=max_age,
        retention=retention,
        sync=sync,
        source=source,
        contacts_path=contacts_path,
        sms=sms,
        email=email,
        links=links,
        sequence=sequence,
        templates=templates,
        therapists=therapists,
        status=status,
        change_messages=change_messages,
        report=ReportConfig(to=tuple(a.strip() for a in addresses)),
        replies=replies,
    )
    _check_templates_cover_sequence(r, config)
    _check_link_templates(r, config)
    _check_feeds(r, config)
    if r.problems:
        raise ConfigError(r.problems, str(path))
    return config


def _read_replies(r: _Reader) -> RepliesConfig:
    """`[replies]`: keywords are single words (a reply is matched as one word, any case)."""
    r.unknown_keys(("replies",), ("enabled", "link_keywords", "link_ahead"))
    words = r.get(("replies", "link_keywords"), list, ["LINK"])
    keywords = tuple(w.strip().upper() for w in words if isinstance(w, str) and w.strip())
    if len(keywords) != len(words) or not all(re.fullmatch(r"[A-Z0-9]+", w) for w in keywords):
        r.problem(("replies", "link_keywords"), 'must be a list of single words, e.g. ["LINK"]')
        keywords = ("LINK",)
    if clash := sorted(set(keywords) & set(OPT_OUT + OPT_IN)):
        r.problem(
            ("replies", "link_keywords"),
            f"{', '.join(clash)} is an opt-out/opt-in word (STOP, START, ...); choose another",
        )
        keywords = ("LINK",)
    return RepliesConfig(
        enabled=r.get(("replies", "enabled"), bool, True),
        link_keywords=keywords,
        link_ahead=r.duration(("replies", "link_ahead"), timedelta(hours=24), timedelta(minutes=1)),
    )


def _read_sequence(r: _Reader, raw: dict[str, Any]) -> tuple[Step, ...]:
    steps_raw = raw.get("sequence")
    if steps_raw is None:
        return DEFAULT_SEQUENCE
    if not isinstance(steps_raw, list) or not steps_raw:
        r.problem(("sequence",), "must be one or more [[sequence]] tables")
        return DEFAULT_SEQUENCE
    steps: list[Step] = []
    seen: set[str] = set()
    for i, item in enumerate(steps_raw):
        at = ("sequence", str(i))
        if not isinstance(item, dict):
            r.problem(at, "must be a table")
            continue
        for key in item:
            if key not in ("name", "on", "before", "channels"):
                r.problem((*at, key), "unknown key; known keys: name, on, before, channels")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            r.problem((*at, "name"), "every [[sequence]] step needs a name")
            continue
        if name in seen:
            r.problem((*at, "name"), f"step {name!r} is defined twice")
        seen.add(name)
        before: timedelta | None = None
        if ("on" in item) == ("before" in item):
            r.problem(
                (*at, "name"),
                f'step {name!r} needs exactly one of on = "created" or before = "24h"',
            )
            continue
        if "on" in item and item["on"] != "created":
            r.problem((*at, "on"), f'{item["on"]!r} is not supported; use on = "created"')
            continue
        if "before" in item:
            checked = _checked_duration(str(item["before"]))
            if isinstance(checked, str):
                r.problem((*at, "before"), checked)
                continue
            before = checked
            if before.total_seconds() <= 0:
                # Its window would close at the start it opens on: it could never go.
                r.problem((*at, "before"), 'must be longer than 0 (e.g. "10m")')
                continue
        channels = item.get("channels", [])
        if isinstance(channels, str):
            channels = [channels]
        if not channels or not all(c in ("sms", "email") for c in channels):
            r.problem((*at, "channels"), f"must list sms and/or email, found {channels!r}")
            continue
        steps.append(Step(name, tuple(dict.fromkeys(channels)), before))
    return tuple(steps) or DEFAULT_SEQUENCE


def _read_templates(r: _Reader, path: tuple[str, ...]) -> dict[str, TemplateSet]:
    out: dict[str, TemplateSet] = {}
    for step, table in r.table(*path).items():
        at = (*path, step)
        if not isinstance(table, dict):
            r.problem(at, "must be a table with sms, email_subject, email_body")
            continue
        languages: dict[str, TemplateSet] = {}
        for key, value in table.items():
            if key in FIELDS:
                continue
            if not isinstance(value, dict):
                r.problem(
                    (*at, key),
                    f"unknown key; known keys: {', '.join(FIELDS)}, "
                    f"or a language table such as [{'.'.join(_quoted(at))}.es]",
                )
            elif problem := tag_problem(key):
                r.problem((*at, key), problem)
            else:
                r.unknown_keys((*at, key), FIELDS)
                languages[normalize_tag(key) or key] = _template_set(r, (*at, key))
        out[step] = replace(_template_set(r, at), languages=languages)
    return out


def _template_set(r: _Reader, at: tuple[str, ...]) -> TemplateSet:
    values: dict[str, str | None] = {}
    for fld in FIELDS:
        text = r.text((*at, fld))
        if text is not None:
            for message in template_problems(text):
                r.problem((*at, fld), message)
        values[fld] = text
    return TemplateSet(values["sms"], values["email_subject"], values["email_body"])


def _quoted(path: tuple[str, ...]) -> list[str]:
    return [p if re.fullmatch(r"[A-Za-z0-9_]+", p) else f'"{p}"' for p in path]


def _check_templates_cover_sequence(r: _Reader, config: Config) -> None:
    """A step without a template anywhere is a config error, found before any send."""
    needs = {"sms": ("sms",), "email": ("email_subject", "email_body")}
    for step in config.sequence:
        for channel in step.channels:
            for fld in needs[channel]:
                if config.template(step.name, None, fld) is None:
                    r.problem(
                        ("templates", step.name, fld),
                        f"step {step.name!r} sends {channel} but has no {fld} template; "
                        f'add [templates."{step.name}"] {fld} = "..."',
                    )


def _has_link(text: str) -> bool:
    """True when `text` holds the `{link}` placeholder (a literal `{{link}}` is not one)."""
    try:
        return any(name == "link" for _, name, _, _ in string.Formatter().parse(text))
    except ValueError:
        return True  # unbalanced braces are already reported by template_problems


def _check_link_templates(r: _Reader, config: Config) -> None:
    """Every step of the sequence, and the link-changed notice, exists to carry the link:
    a text or email body written for one without `{link}` would reach the client with no
    way to join. Only templates written in the config are checked (built-ins carry it)."""
    steps = [step.name for step in config.sequence]
    if config.change_messages.link_changed:
        steps.append("link-changed")
    layers: list[tuple[tuple[str, ...], dict[str, TemplateSet]]] = [
        (("templates",), config.templates)
    ]
    layers += [(("therapists", t.id, "templates"), t.templates) for t in config.therapists.values()]
    for prefix, templates in layers:
        for step in steps:
            written = templates.get(step)
            if written is None:
                continue
            variants = [((*prefix, step), written)]  # and each language's own texts
            variants += [((*prefix, step, tag), t) for tag, t in written.languages.items()]
            for at, texts in variants:
                for fld in ("sms", "email_body"):
                    text = texts.get(fld)
                    if text is not None and not _has_link(text):
                        r.problem(
                            (*at, fld),
                            f"step {step!r} carries the session link but this template has "
                            "no {link}; add {link} where the client should click",
                        )


def _read_source(r: _Reader, kind: str) -> dict[str, Any]:
    """`[source]`, checked against what its kind declares (sources/settings.py): every
    problem with its key and line, all of them collected with the rest of the file's."""
    declared = {setting.key: setting for setting in SETTINGS.get(kind, ())}
    table = {k: v for k, v in r.table("source").items() if k != "kind"}
    reader = READERS.get(kind)
    if reader is not None:
        found = reader(table)
        for key, message in found:
            r.problem(("source", *key.split(".")), message)
        reported = {key.split(".")[0] for key, _ in found}
        for key, value in table.items():
            problem = env_name_problem(value) if key.endswith("_env") else None
            if problem is not None and key not in reported:
                r.problem(("source", key), problem)
        return table
    for key, value in table.items():
        setting = declared.get(key)
        if setting is None:
            known = ", ".join(("kind", *declared))
            hint = did_you_mean(key, ("kind", *declared))
            r.problem(("source", key), f"unknown key for kind {kind!r}{hint}; known keys: {known}")
        elif (problem := setting.check(value)) is not None:
            r.problem(("source", key), problem)
    for setting in declared.values():
        if setting.required and setting.key not in table:
            r.problem(("source", setting.key), setting.required)
    feeds = table.get("feeds")
    for feed in feeds if isinstance(feeds, list) else ():
        if isinstance(feed, dict) and isinstance(feed.get("url"), str):
            _check_url(r, ("source", "feeds"), feed["url"], allow_path=True)
    return table


FEED_KINDS = ("ics", "simplepractice", "therapynotes")


def _check_feeds(r: _Reader, config: Config) -> None:
    """A feed source's feeds, one per configured therapist, against [therapists] and
    [contacts]: what needs more than one key is checked here, with the rest."""
    if config.source.kind not in FEED_KINDS:
        return
    feeds = config.source.settings.get("feeds")
    at = ("source", "feeds")
    if feeds == []:
        r.problem(
            at,
            'missing; list one feed per therapist, e.g. feeds = [{ therapist = "th-1", '
            'url = "https://.../th-1.ics" }]',
        )
    seen: set[str] = set()
    for number, item in enumerate(feeds if isinstance(feeds, list) else (), start=1):
        feed = f"feed #{number}"
        if not isinstance(item, dict):
            r.problem(at, f"{feed} must be a table {{ therapist = ..., url = ... }}")
            continue
        extra = [k for k in item if k not in ("therapist", "url")]
        if extra:
            r.problem(at, f"{feed}: unknown key(s) {', '.join(extra)}; known: therapist, url")
        tid, url = item.get("therapist"), item.get("url")
        if not isinstance(tid, str) or not tid.strip():
            r.problem(at, f"{feed}: therapist is missing (the id used under [therapists])")
            continue
        tid = tid.strip()
        if tid in seen:
            r.problem(at, f"{feed}: therapist {tid!r} has two feeds; one feed per therapist")
            continue
        seen.add(tid)
        if not isinstance(url, str) or not url.strip():
            r.problem(at, f"{feed}: url is missing (an https URL or a local path)")
        therapist = config.therapists.get(tid)
        if config.source.kind == "therapynotes" and not (therapist and therapist.link):
            r.problem(
                ("therapists", tid, "link"),
                "missing; TherapyNotes feeds carry no session link, so set "
                f'[therapists."{tid}"] link to the therapist\'s TherapyPortal waiting-room link',
            )
    if config.contacts_path is None:
        r.problem(
            ("contacts", "path"),
            "missing; calendar feeds carry no client phone or email, so set [contacts] "
            'path = "contacts.csv" (columns client,name,email,mobile,channels,timezone)',
        )
