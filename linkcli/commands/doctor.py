"""`linkcli doctor`: one table of checks, each with pass / warn / fail and its fix.

Everything is checked the way `sync` and `dispatch` would meet it: the real config
loader, the real store, the real source read (its listing is never written), the real
Twilio and SMTP adapters logging in without sending, the real template renderer. A
failure here is a failure cron would hit; a warning is something a client would notice.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from linkcli.config import Config
from linkcli.context import Context
from linkcli.core.when import people_time
from linkcli.errors import ConfigError, ExitCode, LinkcliError
from linkcli.shared import record_fix, secret_names, test_mode
from linkcli.store import ts

Status = Literal["pass", "warn", "fail"]

# A typical long Zoom link (meeting id plus an embedded passcode): what most session
# links look like, so "fits one segment" here means it fits in real life.
TYPICAL_LINK = "https://us02web.zoom.us/j/85512345678?pwd=aBcDeFgHiJkLmNoPqRsTuVwXyZ123456.1"

# Twilio treats a reply of exactly CANCEL as an opt-out: a message that invites one
# unsubscribes the client from every text of the practice. Matches "Reply CANCEL",
# "text back 'cancel'", "reply with CANCEL to ..." but not "to cancel, call us".
_INVITES_CANCEL = re.compile(
    r"\b(?:reply|text|respond|send|answer)(?:\s+(?:with|back|us|the\s+word))*\s*[:\-]?\s*"
    r"[\"'\u2018\u2019\u201c\u201d]?cancel\b",
    re.IGNORECASE,
)


@dataclass
class Check:
    """One line of the doctor's table."""

    name: str
    status: Status
    detail: str
    fix: str = ""


@dataclass
class DoctorReport:
    """Every check, in the order a person would fix them."""

    config_path: str
    checks: list[Check] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """True when any check failed (the command then exits 1)."""
        return any(c.status == "fail" for c in self.checks)

    @property
    def failed_names(self) -> list[str]:
        """The checks that failed, in order."""
        return [c.name for c in self.checks if c.status == "fail"]

    @property
    def exit_code(self) -> ExitCode:
        """2 when the config itself is invalid (a config error is one whichever command
        meets it), 1 when another check failed, else 0 (warnings alone pass)."""
        if "config valid" in self.failed_names:
            return ExitCode.USAGE
        return ExitCode.SENDS_FAILED if self.failed else ExitCode.OK

    def to_dict(self) -> dict[str, Any]:
        """The `--json` object."""
        counts = {s: sum(1 for c in self.checks if c.status == s) for s in ("pass", "warn", "fail")}
        return {
            "config": self.config_path,
            "ok": not self.failed,
            "counts": counts,
            "checks": [asdict(c) for c in self.checks],
        }


# The checks that wait on the network (source, Twilio, SMTP): each says so on a
# terminal's stderr while it runs, so a slow source is never a blank screen.
NETWORK_STEPS = 3


def run_doctor(ctx: Context, step: Callable[[str], None] = lambda _label: None) -> DoctorReport:
    """Run every check that applies to this config; `step` names each network step as
    it starts (the CLI shows it as progress)."""
    report = DoctorReport(str(ctx.config_path))
    checks = report.checks
    try:
        config = ctx.config
    except ConfigError as exc:
        checks.append(
            Check(
                "config valid",
                "fail",
                "; ".join(exc.problems) if exc.problems else exc.message,
                f"edit {ctx.config_path} at the key and line named, or write a fresh one with "
                "`linkcli init --force`",
            )
        )
        checks.append(_clock(ctx, None))
        return report
    except LinkcliError as exc:  # e.g. LINKCLI_NOW unreadable
        checks.append(Check("config valid", "fail", exc.message, "see the message"))
        return report
    checks.append(
        Check(
            "config valid",
            "pass",
            f"{config.path}: source {config.source.kind}, sms {config.sms.provider}, "
            f"email {config.email.provider}, {len(config.sequence)} sequence step(s)",
        )
    )
    if line := test_mode(config):
        checks.append(
            Check(
                "delivery",
                "warn",
                line.split("; to go live")[0],
                "to go live" + line.split("; to go live")[1],
            )
        )
    else:
        checks.append(Check("delivery", "pass", "live: texts by Twilio, email by SMTP"))
    checks.append(_secrets(config, ctx.env))
    checks.append(_database(ctx))
    languages: list[str | None] = []  # each listed client's language, filled by _source
    step(f"reading the {config.source.kind} source")
    checks.append(_source(ctx, languages))
    if config.sms.provider == "twilio":
        step("asking Twilio about the account")
        checks.append(_twilio(config, ctx.env))
    if config.email.provider == "smtp":
        step(f"logging in to {config.email.smtp_host}")
        checks.append(_smtp(config, ctx.env))
    checks += _templates(config)
    checks.append(_languages(config, languages))
    checks.append(_links(config))
    checks.append(_clock(ctx, config))
    return report


def _guard(name: str, fix: str) -> Callable[[Callable[..., Check]], Callable[..., Check]]:
    """A check that breaks unexpectedly is a failed check, never a crashed doctor."""

    def wrap(func: Callable[..., Check]) -> Callable[..., Check]:
        def run(*args: Any) -> Check:
            try:
                return func(*args)
            except LinkcliError as exc:
                return Check(name, "fail", exc.message, fix)
            except Exception as exc:
                return Check(name, "fail", f"{type(exc).__name__}: {exc}", fix)

        return run

    return wrap


def _secrets(config: Config, env: Mapping[str, str]) -> Check:
    names = secret_names(config)
    if not names:
        return Check(
            "secrets present",
            "pass",
            f"none needed (sms {config.sms.provider}, email {config.email.provider}, "
            f"source {config.source.kind})",
        )
    missing = [n for n, _, required in names if required and not env.get(n, "").strip()]
    if missing:
        return Check(
            "secrets present",
            "fail",
            f"not set: {', '.join(missing)}",
            "export them in the environment cron runs with (e.g. NAME=value lines at "
            "the top of the crontab); secrets never go in the config file",
        )
    if config.email.provider == "smtp":
        user = env.get("LINKCLI_SMTP_USERNAME", "").strip()
        password = env.get("LINKCLI_SMTP_PASSWORD", "").strip()
        if user and not password:
            return Check(
                "secrets present",
                "fail",
                "LINKCLI_SMTP_USERNAME is set but LINKCLI_SMTP_PASSWORD is not",
                "set LINKCLI_SMTP_PASSWORD, or unset the user name for a relay without login",
            )
        if not user:
            present = [n for n, _, required in names if required]
            return Check(
                "secrets present",
                "warn",
                "LINKCLI_SMTP_USERNAME is not set: email goes without a login"
                + (f" ({', '.join(present)} set)" if present else ""),
                "set LINKCLI_SMTP_USERNAME and LINKCLI_SMTP_PASSWORD unless the "
                "server relays for this machine without a login",
            )
    shown = ", ".join(n for n, _, _ in names if env.get(n, "").strip())
    return Check("secrets present", "pass", f"set: {shown}")


@_guard(
    "database writable",
    "check that the folder exists and the cron user may write it, or set [store] path",
)
def _database(ctx: Context) -> Check:
    with ctx.store(locked=False) as store:
        # A real write, not a permission guess: a read-only mount or a full disk fails here.
        store.set_meta("doctor_checked_at", ts(ctx.now))
        known = store.appointment_count()
        good = store.last_good_sync()
        path = store.path
    mode = stat.S_IMODE(os.stat(path).st_mode)
    detail = (
        f"{path} ({mode:04o}); {known} appointment(s) in the snapshot; last good sync "
        f"{people_time(good, ZoneInfo(ctx.config.practice.timezone), ctx.now) if good else 'never'}"
    )
    if mode & 0o077:
        return Check(
            "database writable",
            "warn",
            detail + "; readable by other users",
            f"chmod 600 {path} (it holds client contact details)",
        )
    return Check("database writable", "pass", detail)


@_guard("source readable", "fix what the message names, then run `linkcli sync -v`")
def _source(ctx: Context, languages: list[str | None]) -> Check:
    from linkcli.adapters import closing
    from linkcli.shared import window_for
    from linkcli.sources import open_source

    config = ctx.config
    window = window_for(ctx)
    source = open_source(config, ctx.env, ctx.now, client=ctx.http)
    with closing(source):
        listing = source.fetch(window)
    joined = ""
    if config.contacts_path is not None:
        try:
            from linkcli.sources.contacts import join_listing, load_directory
        except ImportError:  # this build has no contacts directory support yet
            joined = "; contacts directory not checked"
        else:
            listing = join_listing(listing, load_directory(config.contacts_path))
            joined = f"; joined to {config.contacts_path.name}"
    live = sum(1 for a in listing.appointments if a.is_live_telehealth)
    languages += [p.language for a in listing.appointments for p in a.participants]
    detail = (
        f"{source.name}: {len(listing.appointments)} "
        f"appointment(s) from {window.start:%Y-%m-%d} to {window.end:%Y-%m-%d}, {live} "
        f"scheduled telehealth{joined} (nothing was written)"
    )
    if listing.problems:
        more = f" (and {len(listing.problems) - 1} more)" if len(listing.problems) > 1 else ""
        return Check(
            "source readable",
            "warn",
            f"{detail}; {len(listing.problems)} record(s) skipped: {listing.problems[0]}{more}",
            record_fix(config, listing.problems[0]) + "; the rest sync normally",
        )
    if not listing.appointments:
        return Check(
            "source readable",
            "warn",
            detail + "; the listing is empty",
            "check that the source points at this practice's calendar",
        )
    return Check("source readable", "pass", detail)


@_guard("Twilio credentials", "check TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and sms.api_base_url")
def _twilio(config: Config, env: Mapping[str, str]) -> Check:
    name = "Twilio credentials"
    sid = env.get("TWILIO_ACCOUNT_SID", "").strip()
    if not sid or not env.get("TWILIO_AUTH_TOKEN", "").strip():
        return Check(
            name,
            "warn",
            "not tried: TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN not set",
            "set them (see the secrets line), then run `linkcli doctor` again",
        )
    from linkcli.adapters import close
    from linkcli.channels import open_sms
    from linkcli.channels.base import ChannelError, HealthChecked
    from linkcli.core.phones import mask_phone

    where = config.sms.api_base_url
    # The channel's own read-only account check: the exact setup a send uses
    # (api_base_url, no TWILIO_EDGE/REGION rewriting, the httpx transport).
    sms = open_sms(config.sms, env)
    try:
        if not isinstance(sms, HealthChecked):
            return Check(name, "warn", "this SMS channel cannot be checked without sending")
        status = sms.check()
    except ChannelError as exc:
        if exc.http_status in (401, 403):
            return Check(
                name,
                "fail",
                f"{where} refused the credentials (HTTP {exc.http_status}"
                + (f", Twilio error {exc.code}" if exc.code else "")
                + ")",
                "copy the Account SID and Auth Token again from the Twilio Console "
                "(Account info) into TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN",
            )
        if exc.http_status is not None:
            return Check(
                name,
                "fail",
                f"{where} answered HTTP {exc.http_status} to an account read",
                "check sms.api_base_url and Twilio's status page",
            )
        return Check(
            name,
            "fail",
            f"no answer from {where}: {exc.reason}",
            "check this machine's network and sms.api_base_url",
        )
    finally:
        close(sms)
    sender = (
        f"from {mask_phone(config.sms.from_number)}"
        if config.sms.from_number
        else f"messaging service {config.sms.messaging_service_sid}"
    )
    detail = f"account {sid[:6]}... is {status}; texts go {sender}"
    if status != "active":
        return Check(name, "fail", detail, "reactivate the account in the Twilio Console")
    return Check(name, "pass", detail)


@_guard("SMTP login", "check email.smtp_host, smtp_port, security and the SMTP login variables")
def _smtp(config: Config, env: Mapping[str, str]) -> Check:
    from linkcli.adapters import close
    from linkcli.channels import open_email
    from linkcli.channels.base import ChannelError, HealthChecked

    name = "SMTP login"
    email = config.email
    where = f"{email.smtp_host}:{email.smtp_port} ({email.security})"
    channel = open_email(email, env)
    try:
        # The channel's own connect + EHLO (+ STARTTLS) + login, then QUIT on close:
        # exactly what the first send of a dispatch does, minus the message.
        if isinstance(channel, HealthChecked):
            channel.check()
    except ChannelError as exc:
        return Check(
            name,
            "fail",
            f"{where}: {exc.reason}",
            "check the host, port and security pair (587 starttls, 465 ssl) and "
            "LINKCLI_SMTP_USERNAME / LINKCLI_SMTP_PASSWORD",
        )
    finally:
        close(channel)
    if env.get("LINKCLI_SMTP_USERNAME", "").strip():
        return Check(name, "pass", f"{where}: connected and logged in")
    return Check(
        name,
        "warn",
        f"{where}: connected; no login tried (no LINKCLI_SMTP_USERNAME)",
        "fine for a relay that trusts this machine; otherwise set the login variables",
    )


def _layers(config: Config) -> list[tuple[str, str, str]]:
    """(where, field, text) for every template text the config can send, built-ins too."""
    from linkcli.core.templates import BUILTIN, FIELDS

    out: list[tuple[str, str, str]] = []
    for step, tset in BUILTIN.items():
        out += [(f'built-in "{step}"', f, t) for f in FIELDS if (t := tset.get(f))]
    for step, tset in config.templates.items():
        out += [(f'templates."{step}"', f, t) for f in FIELDS if (t := tset.get(f))]
    for tid, therapist in config.therapists.items():
        for step, tset in therapist.templates.items():
            out += [
                (f'therapists."{tid}".templates."{step}"', f, t)
                for f in FIELDS
                if (t := tset.get(f))
            ]
    return out


def _sample(config: Config, therapist_id: str | None, step_before: timedelta | None) -> Any:
    """A synthetic session with long-ish values, to measure templates the way they go out."""
    from linkcli.core.model import Appointment, Participant, Therapist

    zone = ZoneInfo(config.practice.timezone)
    # A Wednesday in September at 10:30 AM: the longest weekday, month and time strings.
    start = datetime(2026, 9, 30, 10, 30, tzinfo=zone)
    therapist = Therapist(therapist_id or "th-sample", "Morgan Alvarez", "Dr. Alvarez")
    client = Participant("cl-sample", "Alexandra Rivera", "Alexandra")
    appointment = Appointment(
        "apt-sample", "scheduled", start, therapist, (client,), telehealth_url=TYPICAL_LINK
    )
    at = start - (step_before if step_before is not None else timedelta(days=3))
    return appointment, client, at


def _templates(config: Config) -> list[Check]:
    from linkcli.compose import render_send
    from linkcli.core.plan import Step
    from linkcli.core.reconcile import LINK_CHANGED
    from linkcli.core.segments import count_segments

    long_texts: list[str] = []
    unnamed: list[str] = []
    variants: list[str | None] = [None, *config.therapists]
    texted = [s for s in config.sequence if "sms" in s.channels]
    if config.change_messages.link_changed:
        # Sent when a link a client already holds changes: a text like the others.
        texted.append(Step(LINK_CHANGED, ("sms",), timedelta(hours=3)))
    for step in texted:
        for tid in variants:
            label = f"{step.name}" + (f" ({tid})" if tid else "")
            template = config.template(step.name, tid, "sms") or ""
            if "{therapist}" not in template and "{therapist_name}" not in template:
                unnamed.append(label)
            appointment, client, at = _sample(config, tid, step.before)
            # The first text to a number carries the opt-out sentence: the longest form.
            body = render_send(
                config, appointment, client, step.name, "sms", at, TYPICAL_LINK, first_text=True
            ).body
            seg = count_segments(body)
            if seg.segments > 1 or seg.encoding != "GSM-7":
                why = f"{seg.segments} {seg.encoding} segments, {seg.units} units"
                if seg.non_gsm:
                    why += ", because of " + " ".join(repr(c) for c in seg.non_gsm)
                long_texts.append(f"{label}: {why}")
    checks: list[Check] = []
    sms_steps = [s.name for s in texted]
    if not sms_steps:
        checks.append(Check("SMS length", "pass", "the sequence sends no SMS"))
    elif long_texts:
        checks.append(
            Check(
                "SMS length",
                "warn",
                "longer than one GSM-7 segment with a typical Zoom link and the opt-out "
                "sentence: " + "; ".join(long_texts),
                "shorten the template (straight quotes only: one curly quote or emoji makes it "
                "UCS-2, 70 characters a segment); `linkcli preview` shows each message",
            )
        )
    else:
        checks.append(
            Check(
                "SMS length",
                "pass",
                f"{', '.join(sms_steps)}: one GSM-7 segment each with a typical "
                "Zoom link and the opt-out sentence",
            )
        )
    if unnamed:
        checks.append(
            Check(
                "SMS names therapist",
                "warn",
                "no {therapist} or {therapist_name} in: " + ", ".join(unnamed),
                "name the therapist in every text: clients ignore links from "
                "senders they cannot place",
            )
        )
    elif sms_steps:
        checks.append(
            Check("SMS names therapist", "pass", "every SMS template names the therapist")
        )
    invites = [
        f"{where} {fld}" for where, fld, text in _layers(config) if _INVITES_CANCEL.search(text)
    ]
    if _INVITES_CANCEL.search(config.sms.opt_out_text or ""):
        invites.append("sms.opt_out_text")
    if invites:
        checks.append(
            Check(
                "no reply CANCEL",
                "fail",
                "invites a reply of CANCEL, which Twilio treats as an opt-out from every text: "
                + ", ".join(invites),
                'reword it (e.g. "to reschedule, call us"); a client who replies CANCEL gets no '
                "more texts at all",
            )
        )
    else:
        checks.append(Check("no reply CANCEL", "pass", "no template invites a reply of CANCEL"))
    if not config.sms.opt_out_text.strip() and sms_steps:
        checks.append(
            Check(
                "opt-out wording",
                "warn",
                "sms.opt_out_text is empty: the first text to a number says nothing about STOP",
                'set sms.opt_out_text = "Reply STOP to opt out."',
            )
        )
    return checks


def _languages(config: Config, seen: list[str | None]) -> Check:
    """Which languages the listed clients read, and where each one's texts come from."""
    from collections import Counter

    from linkcli.core.language import primary
    from linkcli.core.reconcile import CANCELLATION, LINK_CHANGED

    practice = config.practice.language
    counts = Counter(tag or practice for tag in seen)
    counts.setdefault(practice, 0)
    steps = [(s.name, s.channels) for s in config.sequence]
    steps += [(LINK_CHANGED, ("sms", "email")), (CANCELLATION, ("email",))]
    fields = {"sms": ("sms",), "email": ("email_subject", "email_body")}
    lines: list[str] = []
    silent_gap: list[str] = []
    for tag in sorted(counts, key=lambda t: (t != practice, t)):
        origins: dict[str, list[str]] = {}
        used: set[str] = set()
        for step, channels in steps:
            for channel in channels:
                lang = config.message_language(step, None, fields[channel], tag)
                used.add(lang)
                for fld in fields[channel]:
                    found = config.template_origin(step, None, fld, lang)
                    if found:
                        origins.setdefault(found[0], []).append(f"{step} {fld}")
        who = f"{counts[tag]} client(s)" + (", the practice language" if tag == practice else "")
        if used == {practice} and primary(tag) != primary(practice):
            lines.append(f"{tag} ({who}): no templates in {tag}, these clients read {practice}")
            silent_gap.append(tag)
            continue
        where = "; ".join(
            origin if len(origins) == 1 else f"{origin} ({', '.join(dict.fromkeys(what))})"
            for origin, what in origins.items()
        )
        lines.append(f"{tag} ({who}): {where}")
    for tid, therapist in config.therapists.items():
        for step, table in therapist.templates.items():
            for tag in table.languages:
                lines.append(f'therapist {tid} has its own {tag} "{step}"')
    others = [t for t in counts if t != practice and t not in silent_gap]
    if long_texts := _long_texts_in(config, others):
        return Check(
            "languages",
            "warn",
            "; ".join(lines) + "; longer than one GSM-7 segment with a typical Zoom link and "
            "the opt-out sentence: " + "; ".join(long_texts),
            "shorten those templates; `linkcli preview` shows each message as it goes",
        )
    if silent_gap:
        from linkcli.core.language import SUPPORTED

        gap = silent_gap[0]
        fix = (
            f'add [templates."STEP".{gap}] tables for the steps you send'
            if primary(gap) in SUPPORTED
            else f"linkcli writes messages in {', '.join(SUPPORTED)}: these clients read "
            f"{practice}; check that they can"
        )
        return Check("languages", "warn", "; ".join(lines), fix)
    return Check("languages", "pass", "; ".join(lines))


def _long_texts_in(config: Config, languages: list[str]) -> list[str]:
    """The texts that cost more than one GSM-7 segment for clients of these languages (the
    SMS length check measures the practice language; this one, every other in use)."""
    from dataclasses import replace

    from linkcli.compose import render_send
    from linkcli.core.reconcile import LINK_CHANGED
    from linkcli.core.segments import count_segments

    steps = [(s.name, s.before) for s in config.sequence if "sms" in s.channels]
    if config.change_messages.link_changed:
        steps.append((LINK_CHANGED, timedelta(hours=3)))
    out: list[str] = []
    for tag in languages:
        for name, before in steps:
            for tid in [None, *config.therapists]:
                appointment, client, at = _sample(config, tid, before)
                body = render_send(
                    config,
                    appointment,
                    replace(client, language=tag),
                    name,
                    "sms",
                    at,
                    TYPICAL_LINK,
                    first_text=True,
                ).body
                seg = count_segments(body)
                if seg.segments > 1 or seg.encoding != "GSM-7":
                    label = f"{name} ({tag}" + (f", {tid})" if tid else ")")
                    out.append(f"{label}: {seg.segments} {seg.encoding} segments")
    return list(dict.fromkeys(out))


def _links(config: Config) -> Check:
    from linkcli.core.links import validate_patterns

    name = "link policy"
    policy = config.links
    if not policy.allowed_hosts:
        return Check(
            name,
            "fail",
            "[links] allowed_hosts is empty: no link can ever be sent",
            "list the telehealth hosts you use, or remove the key for the defaults",
        )
    bad = validate_patterns(policy.reject_patterns)
    if bad:
        return Check(name, "fail", "; ".join(bad), "correct [links] reject_patterns")
    refused = []
    for tid, therapist in config.therapists.items():
        if therapist.link and (problem := policy.check(therapist.link)):
            refused.append(f'therapists."{tid}".link: {problem}')
    if refused:
        return Check(
            name,
            "fail",
            "; ".join(refused),
            "use the session or waiting-room https link, on an allowed host",
        )
    sample = policy.check(TYPICAL_LINK)
    detail = (
        f"{len(policy.allowed_hosts)} allowed host(s), {len(policy.reject_patterns)} "
        "reject pattern(s)"
    )
    if sample and config.source.kind == "zoom":
        return Check(
            name,
            "fail",
            f"{detail}; a Zoom meeting link is refused: {sample}",
            "add zoom.us to [links] allowed_hosts",
        )
    fixed = sum(1 for t in config.therapists.values() if t.link)
    detail += f"; {fixed} therapist link(s) accepted" if fixed else ""
    suffixes = [h for h in policy.allowed_hosts if _is_public_suffix(h)]
    if suffixes:
        return Check(
            name,
            "warn",
            f"{detail}; allowed_hosts {', '.join(map(repr, suffixes))} is a public suffix: "
            "any site registered under it passes, a look-alike login page too",
            "list the telehealth hosts themselves (e.g. zoom.us), not a top-level domain",
        )
    if not policy.reject_patterns:
        return Check(
            name,
            "warn",
            f"{detail}; reject_patterns is empty: Zoom personal rooms (/my/NAME, the same "
            "room for every client) would be sent",
            "remove [links] reject_patterns to keep the default, or list your own",
        )
    return Check(name, "pass", detail)


# Second-level labels under which registries sell names (co.uk, com.au, org.br, ...).
_REGISTRY_LABELS = frozenset({"co", "com", "org", "net", "gov", "edu", "ac", "or", "ne", "go"})


def _is_public_suffix(host: str) -> bool:
    """A bare top-level domain ("com", "health") or a country's registry level ("co.uk"):
    allowing it allows every name registered under it. A heuristic, not the Public Suffix
    List (not a dependency of linkcli): it catches the mistakes a person makes by hand."""
    labels = host.strip(".").split(".")
    if len(labels) == 1:
        return True
    return len(labels) == 2 and len(labels[1]) == 2 and labels[0] in _REGISTRY_LABELS


def _clock(ctx: Context, config: Config | None) -> Check:
    name = "clock and timezone"
    try:
        now = ctx.now
    except LinkcliError as exc:
        return Check(
            name, "fail", exc.message, "write LINKCLI_NOW as an ISO 8601 instant, or unset it"
        )
    zone = ZoneInfo(config.practice.timezone if config else "UTC")
    local = now.astimezone(zone)
    offset = local.strftime("%z")
    where = (
        f"practice zone {zone.key}: {local:%a %Y-%m-%d %H:%M} {local.tzname()} "
        f"(UTC{offset[:3]}:{offset[3:]})"
    )
    simulated = ctx.env.get("LINKCLI_NOW", "").strip()
    if simulated:
        return Check(
            name,
            "warn",
            f"time is simulated (LINKCLI_NOW is set): {where}",
            "unset LINKCLI_NOW for real runs: every command takes it as the time",
        )
    return Check(name, "pass", where)
