"""`linkcli report`: the last N days in figures, per therapist and in total; optionally
emailed to `[report] to` (a weekly cron line keeps the practice informed)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from linkcli.adapters import close as close_adapter
from linkcli.channels import open_email
from linkcli.channels.base import ChannelError, EmailMessage
from linkcli.context import Context
from linkcli.core.report import build_report
from linkcli.errors import ConfigError, ExitCode, LinkcliError
from linkcli.shared import mask
from linkcli.store import Store, ts


def build(ctx: Context, store: Store, days: int) -> dict[str, Any]:
    """The figures of the `days` days ending now, as one JSON-ready object."""
    until = ctx.now
    since = until - timedelta(days=days)
    zone = ZoneInfo(ctx.config.practice.timezone)
    report = build_report(
        store.report_messages(since, until), store.reply_figures(since, until), since, until, zone
    )
    return {"practice": ctx.config.practice.name, **report}


def email(ctx: Context, report: dict[str, Any], text: str, html: str) -> list[str]:
    """Send the page (HTML with its plain-text part) to each `[report] to` address
    through the configured email channel; the addresses it went to, masked."""
    to = ctx.config.report.to
    if not to:
        raise ConfigError(
            '[report] to is not set; add to = ["office@example.org"] to the config to email '
            "the report"
        )
    days = report["per_day"]
    span = f"{days[0]['day']} to {days[-1]['day']}" if days else ""
    channel = open_email(ctx.config.email, ctx.env)
    sent: list[str] = []
    try:
        for address in to:
            channel.send(
                EmailMessage(
                    to=address,
                    to_name="",
                    subject=f"{ctx.config.practice.name}: linkcli report, {span}",
                    text=text,
                    html=html,
                    # The Message-ID comes from the key: one per address and report run.
                    key=f"report/{ts(ctx.now)}/{address}",
                )
            )
            sent.append(mask("email", address) or "")
    except ChannelError as exc:
        done = f" (sent to {', '.join(sent)})" if sent else ""
        raise LinkcliError(
            f"the report could not be emailed: {exc.reason}{done}", ExitCode.SENDS_FAILED
        ) from None
    finally:
        close_adapter(channel)
    return sent
