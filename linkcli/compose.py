"""Decide and render one send at a given moment, from the latest snapshot.

Dispatch, preview and explain render a send the same way here; whether it goes is the
send verdict's (core/verdict.py). No I/O: what the store knows about a number (opted
out, unusable, never texted before) comes in as values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from linkcli.config import Config, SmsConfig
from linkcli.core.language import WORDING, localized_values, primary, wording
from linkcli.core.messages import Rendered, render_message, values_for, zone_for
from linkcli.core.model import Appointment, Participant
from linkcli.core.phones import email_problem, normalize_mobile
from linkcli.core.replies import NO_SESSION
from linkcli.core.segments import SegmentInfo, count_segments, fold_accents
from linkcli.core.verdict import ContactState, Reach


@dataclass(frozen=True)
class Outcome:
    """One send rendered at a moment: to whom, and the message exactly as it goes.
    Whether it goes is the send verdict's business (core/verdict.py)."""

    recipient: str | None = None
    message: Rendered | None = None
    segments: SegmentInfo | None = None


def effective_link(config: Config, appointment: Appointment) -> str | None:
    """The appointment's own link, else the therapist's fixed link from the config."""
    if appointment.telehealth_url:
        return appointment.telehealth_url
    therapist = config.therapists.get(appointment.therapist.id)
    return therapist.link if therapist else None


def reach_for(config: Config, participant: Participant, channel: str) -> Reach:
    """The participant's address on a channel, or why there is none and whether that was
    the client's choice (no consent, no number given: quiet) or not (a number that is
    not a usable mobile: linkcli failed them)."""
    if channel == "sms":
        if participant.sms_opt_in is False:
            return Reach(None, "client has not agreed to texts (sms_opt_in is false)")
        phone = normalize_mobile(participant.mobile, config.practice.country)
        if phone.e164:
            return Reach(phone.e164)
        if phone.problem:
            return Reach(None, phone.problem, chosen=False)
        return Reach(None, "no mobile number: email only")
    if participant.email_opt_in is False:
        return Reach(None, "client has not agreed to email (email_opt_in is false)")
    if not participant.email:
        return Reach(None, "no email address")
    problem = email_problem(participant.email)
    if problem:
        return Reach(None, problem, chosen=False)
    return Reach(participant.email)


def recipient_for(
    config: Config, participant: Participant, channel: str
) -> tuple[str | None, str | None]:
    """(address, None) when the participant can receive this channel, else (None, reason)."""
    reach = reach_for(config, participant, channel)
    return reach.address, reach.problem


def compose(
    config: Config,
    appointment: Appointment,
    participant: Participant,
    step: str,
    channel: str,
    at: datetime,
    contact: ContactState | None = None,
) -> Outcome:
    """This step for this participant, rendered as it would go at `at` (the first text
    to a number carries the opt-out wording)."""
    contact = contact or ContactState()
    address, _why = recipient_for(config, participant, channel)
    message = render_send(
        config,
        appointment,
        participant,
        step,
        channel,
        at,
        effective_link(config, appointment) or "",
        first_text=channel == "sms" and not contact.texted_before,
    )
    segments = count_segments(message.body) if channel == "sms" else None
    return Outcome(address, message, segments)


SHORT_OPT_OUT = "STOP to end"


def with_opt_out(body: str, wording: str, short: str = SHORT_OPT_OUT) -> str:
    """The first text to a number says how to stop them (carrier and TCPA practice).

    The configured wording is used when it keeps the message in the same number of
    segments; else the short form, when that does; else the configured wording anyway,
    because the opt-out notice matters more than the cost of a second segment.
    """
    base = count_segments(body).segments
    for suffix in (wording, short):
        candidate = f"{body} {suffix}"
        if count_segments(candidate).segments <= base:
            return candidate
    return f"{body} {wording}"


def render_send(
    config: Config,
    appointment: Appointment,
    participant: Participant,
    step: str,
    channel: str,
    at: datetime,
    link: str,
    first_text: bool = False,
) -> Rendered:
    """The message of one send exactly as it goes at `at`, in the participant's language
    when there are templates for it (else the practice's); a text is accent-folded when
    that keeps it GSM-7 (`[sms] fold_accents`)."""
    therapist = config.therapists.get(appointment.therapist.id)
    tid = appointment.therapist.id
    fields = ("sms",) if channel == "sms" else ("email_subject", "email_body")
    lang = config.message_language(step, tid, fields, participant.language)
    values = values_for(
        appointment,
        participant,
        link,
        config.practice.name,
        config.practice.timezone,
        at,
        therapist_name=therapist.name if therapist else None,
        therapist_display=therapist.display_name if therapist else None,
    )
    zone = zone_for(participant, config.practice.timezone)
    values.update(localized_values(appointment.start.astimezone(zone), at.astimezone(zone), lang))
    if channel == "sms":
        fold = fold_accents if config.sms.fold_accents else str
        body = fold(render_message(values, config.template(step, tid, "sms", lang) or "").body)
        if first_text and config.sms.opt_out_text:
            body = fold(with_opt_out(body, *_opt_out_wording(config, lang)))
        return Rendered(body=body)
    return render_message(
        values,
        config.template(step, tid, "email_body", lang) or "",
        config.template(step, tid, "email_subject", lang) or "",
    )


def render_no_session(config: Config, language: str | None) -> Rendered:
    """The answer to a client who asked for a link when no session of theirs is near:
    the practice's name and nothing about any session, in the client's language."""
    lang = config.message_language(NO_SESSION, None, ("sms",), language)
    fold = fold_accents if config.sms.fold_accents else str
    text = config.template(NO_SESSION, None, "sms", lang) or ""
    return Rendered(body=fold(render_message({"practice": config.practice.name}, text).body))


def _opt_out_wording(config: Config, lang: str) -> tuple[str, str]:
    """The opt-out notice in the message's language: the configured one when the practice
    wrote its own and the text is in the practice language, else linkcli's built-in."""
    words = wording(lang)
    own = config.sms.opt_out_text
    if own != SmsConfig.opt_out_text and primary(lang) == primary(config.practice.language):
        return own, words.opt_out_short
    return words.opt_out, words.opt_out_short


def therapist_shown(config: Config, appointment: Appointment) -> str:
    """The therapist's name as clients read it, the practice's settings applied."""
    therapist = config.therapists.get(appointment.therapist.id)
    if therapist is None:
        return appointment.therapist.shown
    return appointment.therapist.names(therapist.name, therapist.display_name)[1]


def language_note(
    config: Config, appointment: Appointment, participant: Participant, step: str, channel: str
) -> str | None:
    """Why a client with a language of their own reads this message in another one; None
    when they read their own (an `es-MX` client reading `es` is reading their own)."""
    if not participant.language:
        return None
    fields = ("sms",) if channel == "sms" else ("email_subject", "email_body")
    lang = config.message_language(step, appointment.therapist.id, fields, participant.language)
    if primary(lang) == primary(participant.language):
        return None
    return f"no {step} templates in {participant.language}: sent in {lang}"


def client_language(config: Config, participant: Participant) -> str:
    """The participant's language when linkcli has wording for it, else the practice's."""
    for lang in config.language_chain(participant.language):
        if primary(lang) in WORDING:
            return lang
    return config.practice.language


def calendar_file(
    config: Config,
    appointment: Appointment,
    participant: Participant,
    sequence: int,
    stamp: datetime,
    method: str = "REQUEST",
) -> bytes:
    """The ICS attachment: one stable UID per appointment and participant."""
    from linkcli.core.ics import build_ics  # icalendar loads only when an email goes

    link = effective_link(config, appointment) or ""
    shown = therapist_shown(config, appointment)
    end = appointment.end or appointment.start + timedelta(minutes=50)
    words = wording(client_language(config, participant))
    return build_ics(
        uid=f"{appointment.id}.{participant.id}@linkcli",
        sequence=sequence,
        method=method,
        start=appointment.start,
        end=end,
        timezone=zone_for(participant, config.practice.timezone).key,
        summary=words.calendar_summary.format(therapist=shown),
        link=link,
        description=words.calendar_description.format(
            therapist=shown, practice=config.practice.name
        ),
        stamp=stamp,
        organizer_email=config.email.from_address,
        organizer_name=config.email.from_name or config.practice.name,
        attendee_email=participant.email,
        attendee_name=participant.name or None,
    )
