"""Languages: BCP 47 tags, the built-in texts per language, and dates in words.

A client reads their messages in their own language when linkcli has templates for it,
else in the practice's. English wording stays in `templates.BUILTIN`; this module adds
the other languages linkcli ships (Spanish) and renders `{date}`, `{time}`, `{day}` and
`{starts_in}` through pendulum's locale data (month and weekday names are never written
by hand here). pendulum is imported on first use: an English-only practice never pays
for it. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from linkcli.core.templates import BUILTIN, TemplateSet

# Languages linkcli has wording for (day words, calendar titles, opt-out notice). A
# template in any other language would render its dates in words linkcli cannot give.
SUPPORTED = ("en", "es")

# BCP 47, the parts a messaging tool meets: language, optional script, region, variants.
_TAG = re.compile(
    r"^(?P<lang>[A-Za-z]{2,3})"
    r"(?:-(?P<script>[A-Za-z]{4}))?"
    r"(?:-(?P<region>[A-Za-z]{2}|[0-9]{3}))?"
    r"(?P<rest>(?:-[A-Za-z0-9]{4,8})*)$"
)


def normalize_tag(value: object) -> str | None:
    """A well-formed tag in its canonical case (`es-MX`, `zh-Hant-TW`), else None.

    `_` is read as `-` because spreadsheets and EHRs often write `es_MX`.
    """
    if not isinstance(value, str):
        return None
    match = _TAG.match(value.strip().replace("_", "-"))
    if not match:
        return None
    parts = [match["lang"].lower()]
    if match["script"]:
        parts.append(match["script"].title())
    if match["region"]:
        parts.append(match["region"].upper())
    parts += [p.lower() for p in match["rest"].split("-") if p]
    return "-".join(parts)


def primary(tag: str) -> str:
    """The language subtag: `es` for `es-MX`."""
    return tag.split("-", 1)[0].lower()


def tag_problem(value: object) -> str | None:
    """Why `value` cannot name a language of the config's templates; None when it can."""
    tag = normalize_tag(value)
    if tag is None:
        return f"{value!r} is not a BCP 47 language tag (e.g. es, es-MX)"
    if primary(tag) not in SUPPORTED:
        return f"language {tag!r} is not one linkcli has wording for; known: " + ", ".join(
            SUPPORTED
        )
    return None


def fallbacks(tag: str) -> list[str]:
    """From the most to the least specific: `es-419` -> [`es-419`, `es`]."""
    parts = tag.split("-")
    return ["-".join(parts[:n]) for n in range(len(parts), 0, -1)]


@dataclass(frozen=True)
class Wording:
    """The fixed words of one language that are not templates."""

    today: str
    tomorrow: str
    opt_out: str  # appended to the first text to a number
    opt_out_short: str  # when the long form would cost another segment
    calendar_summary: str  # the calendar event's title; {therapist}
    calendar_description: str  # {therapist}, {practice}


WORDING: dict[str, Wording] = {
    "en": Wording(
        today="today",
        tomorrow="tomorrow",
        opt_out="Reply STOP to opt out.",
        opt_out_short="STOP to end",
        calendar_summary="Session with {therapist}",
        calendar_description="Telehealth session with {therapist} ({practice}).",
    ),
    # Never "cancelar": a client who answers CANCEL is opted out by Twilio.
    "es": Wording(
        today="hoy",
        tomorrow="mañana",
        opt_out="Responda STOP para darse de baja.",
        opt_out_short="Baja: STOP",
        calendar_summary="Sesión con {therapist}",
        calendar_description="Sesión por video con {therapist} ({practice}).",
    ),
}


def wording(tag: str) -> Wording:
    """The fixed words of `tag`'s language (English for a language linkcli lacks)."""
    return WORDING.get(primary(tag), WORDING["en"])


# Spanish, for clients: "usted", short, no clinical words ("sesión por video", never
# "terapia"). Each text, with a 77-character Zoom link, "Dra. Chen" and the longest day
# ("el miércoles"), is one GSM-7 segment once á/í/ó/ú are folded, and still is on the
# first text to a number, with the short opt-out notice (tests/test_languages.py).
BUILTIN_ES: dict[str, TemplateSet] = {
    "confirmation": TemplateSet(
        email_subject="Su sesión con {therapist} el {date}",
        email_body=(
            "Hola, {client_first_name}:\n\n"
            "Su sesión por video con {therapist} quedó reservada para el {date} "
            "a las {time}.\n\n"
            "A la hora de su sesión, entre aquí:\n{link}\n\n"
            "Le enviaremos el enlace otra vez antes de la sesión. También está en la "
            "invitación de calendario adjunta.\n\n"
            "{practice}"
        ),
    ),
    "reminder-24h": TemplateSet(
        sms="Recordatorio: sesión con {therapist} {day} a las {time}. Entre aquí: {link}",
        email_subject="Recordatorio: su sesión con {therapist} es {day} a las {time}",
        email_body=(
            "Hola, {client_first_name}:\n\n"
            "Le recordamos su sesión por video con {therapist} {day} ({date}) "
            "a las {time}.\n\n"
            "Entre aquí:\n{link}\n\n"
            "El enlace también está en la invitación de calendario adjunta.\n\n"
            "{practice}"
        ),
    ),
    "final-30m": TemplateSet(
        sms="Su sesión con {therapist} empieza en {starts_in}. Entre ahora: {link}",
        email_subject="Su sesión con {therapist} empieza en {starts_in}",
        email_body=(
            "Hola, {client_first_name}:\n\n"
            "Su sesión por video con {therapist} empieza en {starts_in}, a las {time}.\n\n"
            "Entre ahora:\n{link}\n\n"
            "{practice}"
        ),
    ),
    "link-changed": TemplateSet(
        sms="Nuevo enlace para su sesión con {therapist} {day} a las {time}: {link}",
        email_subject="Nuevo enlace para su sesión con {therapist} el {date}",
        email_body=(
            "Hola, {client_first_name}:\n\n"
            "El enlace de su sesión por video con {therapist} del {date} a las {time} "
            "cambió. Use este:\n{link}\n\n"
            "La actualización de calendario adjunta también lo tiene.\n\n"
            "{practice}"
        ),
    ),
    "cancellation": TemplateSet(
        email_subject="Cancelada: su sesión con {therapist} el {date}",
        email_body=(
            "Hola, {client_first_name}:\n\n"
            "Su sesión por video con {therapist} del {date} a las {time} fue cancelada. "
            "La actualización de calendario adjunta la quita de su calendario.\n\n"
            "Para reservar otra hora, comuníquese con {practice}.\n\n"
            "{practice}"
        ),
    ),
    # The answer to a client who texts LINK (the steps come with the replies work).
    "link-reply": TemplateSet(
        sms="Su sesión con {therapist} {day} a las {time}: {link}",
    ),
    # The answer to LINK when no session is near: nothing about any session.
    "no-session": TemplateSet(
        sms="No encontramos una sesión próxima. Comuníquese con {practice}.",
    ),
}

BUILTIN_BY_LANGUAGE: dict[str, dict[str, TemplateSet]] = {"en": BUILTIN, "es": BUILTIN_ES}


def builtin(tag: str, step: str) -> TemplateSet | None:
    """The built-in texts of `step` in exactly this language (`es`, not `es-MX`)."""
    return BUILTIN_BY_LANGUAGE.get(tag, {}).get(step)


# Patterns per language, in pendulum's tokens; names of days and months come from its
# locale data. English is rendered by `messages`, unchanged.
_PATTERNS = {
    "es": {
        "date": "dddd D [de] MMMM",  # martes 24 de noviembre
        "weekday": "[el] dddd",  # el martes
        "later": "[el] D [de] MMMM",  # el 3 de diciembre
        "time": "LT",  # the locale's own: 15:00
    },
}


def localized_values(start_local: datetime, now_local: datetime, lang: str) -> dict[str, str]:
    """`{date}`, `{time}`, `{day}`, `{starts_in}` in `lang`; {} for English (the default).

    Both instants are aware and in the participant's zone; `{day}` compares calendar days
    there, `{starts_in}` the elapsed time rounded to the minute.
    """
    code = primary(lang)
    if code not in _PATTERNS:
        return {}
    days = (start_local.date() - now_local.date()).days
    minutes = max(1, round((start_local - now_local).total_seconds() / 60))
    return {
        # Wall time only: aware datetimes of one instant compare equal whatever their zone,
        # so as a cache key they would hand a Chicago client New York's time.
        **_dates(start_local.replace(tzinfo=None), min(max(days, 0), 7), code),
        "starts_in": _starts_in(minutes, code),
    }


# pendulum's formatting costs ~0.1 ms a call; a preview renders the same session's dates
# for every step and channel, so each answer is kept (small, bounded caches).
@lru_cache(maxsize=1024)
def _dates(wall: datetime, days: int, code: str) -> dict[str, str]:
    import pendulum  # locale data loads only for a message that needs it

    patterns = _PATTERNS[code]
    start = pendulum.instance(wall)
    words = wording(code)
    if days == 0:
        day = words.today
    elif days == 1:
        day = words.tomorrow
    elif days < 7:
        day = start.format(patterns["weekday"], locale=code)
    else:
        day = start.format(patterns["later"], locale=code)
    return {
        "date": start.format(patterns["date"], locale=code),
        "time": start.format(patterns["time"], locale=code),
        "day": day,
    }


@lru_cache(maxsize=1024)
def _starts_in(minutes: int, code: str) -> str:
    import pendulum

    hours, rest = divmod(minutes, 60)
    return pendulum.duration(hours=hours, minutes=rest).in_words(locale=code)
