"""Delivery channels (Twilio, SMTP, outbox) behind one-verb protocols, loaded lazily.

Importing twilio costs more than the rest of a quiet cron tick, so a provider's module
is imported only when a message is actually about to go.
"""

from __future__ import annotations

from collections.abc import Mapping

from linkcli.channels.base import EmailChannel, SmsChannel
from linkcli.config import EmailConfig, SmsConfig


def open_sms(config: SmsConfig, env: Mapping[str, str]) -> SmsChannel:
    """The configured SMS channel."""
    if config.provider == "twilio":
        from linkcli.channels.twilio import TwilioSms

        return TwilioSms(config, env)
    from linkcli.channels.outbox import OutboxSms

    return OutboxSms(config, env)


def open_email(config: EmailConfig, env: Mapping[str, str]) -> EmailChannel:
    """The configured email channel."""
    if config.provider == "smtp":
        from linkcli.channels.smtp import SmtpEmail

        return SmtpEmail(config, env)
    from linkcli.channels.outbox import OutboxEmail

    return OutboxEmail(config, env)
