"""Helpers more than one command needs. Commands never import each other (the
architecture test checks it): what two of them share lives here or below."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from linkcli.config import Config
from linkcli.context import Context
from linkcli.core.phones import mask_email, mask_phone
from linkcli.sources.base import Window
from linkcli.store import Store, parse_ts


def iso(value: str | None) -> str | None:
    """Stored instants as ISO 8601 with an explicit UTC offset."""
    return value.replace("Z", "+00:00") if value else None


def mask(channel: str, address: str | None) -> str | None:
    """Phone numbers and email addresses never appear whole in output."""
    if not address:
        return None
    return mask_phone(address) if channel == "sms" else mask_email(address)


def window_for(ctx: Context) -> Window:
    """The span of session starts each sync reads."""
    return Window(ctx.now - ctx.config.sync.past, ctx.now + ctx.config.sync.future)


def sync_due(ctx: Context, store: Store) -> bool:
    """Whether `run` reads the schedule now: always for a local `file` source (cheap, and
    an edit takes effect on the next tick), else when `[sync] interval` has passed since
    the last attempt, so a remote API is polled at the configured pace."""
    if ctx.config.source.kind == "file":
        return True
    last = store.last_sync()
    if last is None or store.last_good_sync() is None:
        return True
    finished = parse_ts(last.finished_at)
    return ctx.now - finished >= ctx.config.sync.interval or ctx.now < finished


# The secret each source kind reads, keyed by the config setting that may rename it.
SOURCE_SECRETS: dict[str, dict[str, str]] = {
    "calendly": {"token_env": "CALENDLY_TOKEN"},
    "zoom": {
        "account_id_env": "ZOOM_ACCOUNT_ID",
        "client_id_env": "ZOOM_CLIENT_ID",
        "client_secret_env": "ZOOM_CLIENT_SECRET",
    },
    "fhir": {"token_env": "FHIR_TOKEN"},
    "rest": {"token_env": "LINKCLI_REST_TOKEN"},  # unless auth = "none"
}


def secret_names(config: Config) -> list[tuple[str, str, bool]]:
    """(variable, what it is for, required) for every secret this config reads."""
    names: list[tuple[str, str, bool]] = []
    if config.sms.provider == "twilio":
        names += [
            ("TWILIO_ACCOUNT_SID", "Twilio Account SID (starts with AC)", True),
            ("TWILIO_AUTH_TOKEN", "Twilio Auth Token", True),
        ]
    if config.email.provider == "smtp":
        names += [
            ("LINKCLI_SMTP_USERNAME", "SMTP user name", False),
            ("LINKCLI_SMTP_PASSWORD", "SMTP password", False),
        ]
    settings = config.source.settings
    keys = dict(SOURCE_SECRETS.get(config.source.kind, {}))
    if config.source.kind == "rest" and settings.get("auth") == "none":
        keys.pop("token_env")
    # Any other `*_env` setting names a variable the source reads (e.g. a rest token).
    keys.update({k: str(v) for k, v in settings.items() if k.endswith("_env") and v})
    for key, default in keys.items():
        name = str(settings.get(key) or default)
        names.append((name, f"{config.source.kind} source secret (source.{key})", True))
    return names


def test_mode(config: Config) -> str | None:
    """One line when a channel writes to an outbox file instead of reaching clients (the
    setup `init` starts from), naming how to go live; None when both channels are live."""
    outboxes = [
        name
        for name, provider in (("texts", config.sms.provider), ("email", config.email.provider))
        if provider == "outbox"
    ]
    if not outboxes:
        return None
    what = " and ".join(outboxes)
    live = []
    if config.sms.provider == "outbox":
        live.append('[sms] provider = "twilio"')
    if config.email.provider == "outbox":
        live.append('[email] provider = "smtp"')
    return (
        f"test mode: {what} go to an outbox file, nothing reaches clients; to go live set "
        f"{' and '.join(live)} (README: Going live)"
    )


def contacts_place(config: Config) -> str:
    """Where a client's phone, email and channel choice are changed for this setup."""
    if config.contacts_path is not None:
        return f"the contacts file {config.contacts_path.name}"
    return "the scheduling system"


def record_fix(config: Config, problem: str) -> str:
    """Where to fix a record a sync skipped: the contacts file when the record failed to
    match it (the schedule is right, the directory lacks the client), else the schedule."""
    if config.contacts_path is not None and config.contacts_path.name in problem:
        return (
            f"add the client (name as in the calendar) to {config.contacts_path}, or correct "
            "the session title in the scheduling system"
        )
    return (
        "correct the appointment in the scheduling system; linkcli sends nothing for what "
        "it cannot read"
    )


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    """`Tue Dec 1, 9:00 AM CST`: how a person reads an instant in a zone."""
    from linkcli.core.when import people_time

    return people_time(moment, zone, zone_name=True)
