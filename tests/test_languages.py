"""Every client in their own language, in one text (DESIGN.md, "Languages").

A Spanish client's whole sequence through the real CLI (Twilio under the real library,
answered by respx; a real SMTP server on 127.0.0.1), the fallbacks (es-MX, no language,
a language without templates), per-language and per-therapist templates, accent folding
and where it cannot help, dates in Spanish, and the sources that carry a language.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx
from icalendar import Calendar
from typer.testing import CliRunner

from linkcli.cli import app
from linkcli.config import load_config
from linkcli.core.contacts import DirectoryError, parse_directory
from linkcli.core.language import (
    BUILTIN_ES,
    fallbacks,
    localized_values,
    normalize_tag,
    tag_problem,
    wording,
)
from linkcli.core.segments import count_segments, fold_accents
from linkcli.core.templates import BUILTIN, render
from linkcli.sources.base import Window
from linkcli.sources.fhir import patient_language
from linkcli.sources.rest import build
from tests.conftest import TWILIO_ENV, Practice, appointment, client

# A typical Zoom link with an embedded passcode: 77 characters.
LINK = "https://us02web.zoom.us/j/85512345678?pwd=AbCdEfGhIjKlMnOpQrStUvWxYz012345678"
LINK2 = "https://us02web.zoom.us/j/85598765432?pwd=ZyXwVuTsRqPoNmLkJiHgFeDcBa987654321"
CHEN = {"id": "th-1", "name": "Ana Chen", "display_name": "Dra. Chen"}
EMOJI = "\U0001f600"

BOOKED = "2026-11-20T15:00:00Z"
DAY_BEFORE = "2026-11-23T20:00:00Z"  # Tue 24 Nov 15:00 EST - 24 h
MOVED_LINK = "2026-11-24T15:00:00Z"  # the morning of the session
HALF_HOUR = "2026-11-24T19:30:00Z"


def lucia(**extra: object) -> dict[str, object]:
    """A Spanish-speaking client; `extra` overrides any field (language=None: none)."""
    record = client(
        id="cl-2", name="Lucía Gómez", email="lucia@example.org", mobile="+1 617 555 0102"
    )
    record.update({"language": "es", **extra})
    return record


def spanish_session(link: str = LINK, **extra: object) -> dict[str, object]:
    return appointment(link=link, therapist=CHEN, participants=[lucia()], **extra)


def one_gsm_segment(body: str) -> bool:
    info = count_segments(body)
    return (info.encoding, info.segments) == ("GSM-7", 1)


def test_link_is_the_typical_length():
    assert len(LINK) == len(LINK2) == 77


# --- a Spanish client's whole sequence, through the CLI -------------------------------


def real_channels(practice: Practice, smtp_port: int) -> None:
    practice.write_config(
        sms='provider = "twilio"\nfrom_number = "+16175550100"',
        email=f'provider = "smtp"\nsmtp_host = "127.0.0.1"\nsmtp_port = {smtp_port}\n'
        'security = "none"\nfrom_address = "reminders@example.org"\n'
        'from_name = "Riverside Therapy"',
    )
    practice.extra_env.update(TWILIO_ENV)


def test_spanish_client_gets_every_message_in_spanish_each_text_one_segment(
    practice, smtp_server, twilio_api
):
    server = smtp_server()
    real_channels(practice, server.port)
    practice.schedule()
    practice.ok("2026-11-19T12:00:00Z", "sync")
    practice.schedule(spanish_session())

    practice.ok(BOOKED, "run")
    [confirmation] = server.inbox.messages
    assert confirmation["Subject"] == "Su sesión con Dra. Chen el martes 24 de noviembre"
    text = confirmation.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    assert text.startswith("Hola, Lucía:\n\nSu sesión por video con Dra. Chen quedó reservada")
    assert "para el martes 24 de noviembre a las 15:00." in text
    assert LINK in text

    practice.ok(DAY_BEFORE, "run")
    reminder_sms = (
        f"Recordatorio: sesion con Dra. Chen mañana a las 15:00. Entre aqui: {LINK} Baja: STOP"
    )
    assert [(m["To"], m["Body"]) for m in twilio_api.posted] == [("+16175550102", reminder_sms)]
    reminder = server.inbox.messages[1]
    # Email is not folded: it keeps every accent.
    assert reminder["Subject"] == "Recordatorio: su sesión con Dra. Chen es mañana a las 15:00"
    [ics] = [part for part in reminder.walk() if part.get_content_type() == "text/calendar"]
    event = Calendar.from_ical(ics.get_content()).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == "Sesión con Dra. Chen"
    assert str(event["DESCRIPTION"]) == (
        f"Sesión por video con Dra. Chen (Riverside Therapy).\n\n{LINK}"
    )

    practice.schedule(spanish_session(link=LINK2))
    practice.ok(MOVED_LINK, "run")
    assert twilio_api.posted[1]["Body"] == (
        f"Nuevo enlace para su sesion con Dra. Chen hoy a las 15:00: {LINK2}"
    )
    changed = server.inbox.messages[2]
    assert (
        changed["Subject"] == "Nuevo enlace para su sesión con Dra. Chen el martes 24 de noviembre"
    )

    practice.ok(HALF_HOUR, "run")
    assert twilio_api.posted[2]["Body"] == (
        f"Su sesion con Dra. Chen empieza en 30 minutos. Entre ahora: {LINK2}"
    )
    assert len(twilio_api.posted) == 3 and len(server.inbox.messages) == 3
    assert all(one_gsm_segment(m["Body"]) for m in twilio_api.posted)


def test_a_cancelled_spanish_session_gets_a_spanish_cancellation_and_calendar_file(practice):
    practice.schedule()
    practice.ok("2026-11-19T12:00:00Z", "sync")
    practice.schedule(spanish_session())
    practice.ok(BOOKED, "run")
    practice.schedule(spanish_session(status="canceled"))
    practice.ok("2026-11-21T15:00:00Z", "run")
    confirmation, cancellation = practice.emails()
    assert cancellation["subject"] == "Cancelada: su sesión con Dra. Chen el martes 24 de noviembre"
    assert cancellation["text"].startswith(
        "Hola, Lucía:\n\nSu sesión por video con Dra. Chen del martes 24 de noviembre a las "
        "15:00 fue cancelada."
    )
    assert "comuníquese con Riverside Therapy" in cancellation["text"]
    assert cancellation["ics_method"] == "CANCEL"


def test_preview_shows_the_folded_text_its_encoding_and_segments(practice):
    practice.schedule(spanish_session())
    [*_, final] = practice.preview(DAY_BEFORE, "--days", "2")
    assert final["step"] == "final-30m"
    assert final["body"] == f"Su sesion con Dra. Chen empieza en 30 minutos. Entre ahora: {LINK}"
    assert (final["encoding"], final["segments"], final["warnings"]) == ("GSM-7", 1, [])


# --- who reads which language -----------------------------------------------------------


def test_es_mx_client_reads_the_spanish_texts_silently(practice):
    practice.schedule(
        appointment(link=LINK, therapist=CHEN, participants=[lucia(language="es-MX")])
    )
    rows = practice.preview(DAY_BEFORE, "--days", "2")
    sms = [r for r in rows if r["channel"] == "sms"]
    assert [r["body"][:24] for r in sms] == ["Recordatorio: sesion con", "Su sesion con Dra. Chen "]
    assert all(r["warnings"] == [] for r in rows)


def test_client_without_a_language_reads_the_practice_language(practice):
    practice.schedule(
        appointment(link=LINK, participants=[client(), lucia(language=None, id="cl-3")])
    )
    bodies = {
        (r["participant"], r["step"]): r["body"]
        for r in practice.preview(DAY_BEFORE, "--days", "2")
        if r["channel"] == "sms"
    }
    assert bodies[("cl-3", "final-30m")] == (
        f"Your session with Dr. Chen starts in 30 min. Join now: {LINK}"
    )
    # With Spanish as the practice language, the same client reads Spanish, and a client
    # whose own language is English still reads English.
    practice.write_config('[therapists."th-1"]\ndisplay_name = "Dra. Chen"\n')
    text = practice.config.read_text().replace('country = "US"', 'country = "US"\nlanguage = "es"')
    practice.config.write_text(text)
    practice.schedule(
        appointment(link=LINK, participants=[client(language="en-US"), lucia(language=None)])
    )
    rows = practice.preview(DAY_BEFORE, "--days", "2")
    finals = {r["participant"]: r["body"] for r in rows if r["step"] == "final-30m"}
    assert finals == {
        "cl-1": f"Your session with Dra. Chen starts in 30 min. Join now: {LINK}",
        "cl-2": f"Su sesion con Dra. Chen empieza en 30 minutos. Entre ahora: {LINK}",
    }


def test_language_without_templates_falls_back_with_a_note(practice):
    practice.schedule(appointment(link=LINK, participants=[lucia(language="fr-CA")]))
    final = [r for r in practice.preview(DAY_BEFORE, "--days", "2") if r["step"] == "final-30m"]
    assert final[0]["body"].startswith("Your session with Dr. Chen starts in 30 min.")
    assert final[0]["warnings"] == ["no final-30m templates in fr-CA: sent in en"]


def test_therapists_own_spanish_template_and_practice_spanish_template(practice):
    practice.write_config(
        """
        [templates."reminder-24h".es]
        sms = "{therapist}: le esperamos {day} a las {time}. Enlace: {link}"

        [therapists."th-1"]
        display_name = "Dra. Chen"
        [therapists."th-1".templates."final-30m".es]
        sms = "Soy la {therapist}: empezamos en {starts_in}. Entre aquí: {link}"
        [therapists."th-1".templates."final-30m"]
        sms = "Dr. Chen here: we start in {starts_in}. Join: {link}"
        """
    )
    other = {"id": "th-2", "name": "Sam Okafor", "display_name": "Dr. Okafor"}
    practice.schedule(
        appointment(id="apt-1", link=LINK, participants=[lucia(), client()]),
        appointment(id="apt-2", link=LINK, therapist=other, participants=[lucia()]),
    )
    rows = practice.preview(DAY_BEFORE, "--days", "2")
    sms = {
        (r["appointment"], r["participant"], r["step"]): r["body"]
        for r in rows
        if r["channel"] == "sms"
    }
    assert sms[("apt-1", "cl-2", "final-30m")] == (
        f"Soy la Dra. Chen: empezamos en 30 minutos. Entre aqui: {LINK}"
    )
    assert sms[("apt-1", "cl-1", "final-30m")] == f"Dr. Chen here: we start in 30 min. Join: {LINK}"
    assert sms[("apt-2", "cl-2", "final-30m")] == (
        f"Su sesion con Dr. Okafor empieza en 30 minutos. Entre ahora: {LINK}"
    )
    # The practice's own Spanish reminder, for both therapists; English stays built-in.
    assert sms[("apt-2", "cl-2", "reminder-24h")].startswith(
        "Dr. Okafor: le esperamos mañana a las 15:00. Enlace: "
    )
    assert sms[("apt-1", "cl-1", "reminder-24h")].startswith("Reminder: Dra. Chen session")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            '[templates."reminder-24h".xx]\nsms = "{link}"\n',
            "templates.reminder-24h.xx (line 17): language 'xx' is not one linkcli has wording",
        ),
        (
            '[templates."reminder-24h"."not a tag"]\nsms = "{link}"\n',
            "'not a tag' is not a BCP 47 language tag",
        ),
        (
            '[therapists."th-1".templates."final-30m".es]\nsms = "{enlace}"\n',
            "therapists.th-1.templates.final-30m.es.sms (line 18): unknown placeholder {enlace}",
        ),
        ('[templates."final-30m"]\nes = "hola {link}"\n', "or a language table such as"),
    ],
)
def test_a_bad_language_table_is_a_config_error_with_its_line(practice, extra, message):
    practice.write_config(extra)
    result = practice.cli(DAY_BEFORE, "preview")
    assert result.exit_code == 2
    assert message in result.stderr


def test_an_unknown_practice_language_is_a_config_error(practice):
    text = practice.config.read_text().replace('country = "US"', 'country = "US"\nlanguage = "xx"')
    practice.config.write_text(text)
    result = practice.cli(DAY_BEFORE, "sync")
    assert result.exit_code == 2
    assert "practice.language (line 5): language 'xx' is not one linkcli has wording" in (
        result.stderr
    )


# --- folding ------------------------------------------------------------------------------


def test_emoji_keeps_the_text_ucs2_and_unfolded_and_preview_warns(practice):
    practice.write_config(
        f'[templates."final-30m".es]\n'
        f'sms = "{EMOJI} Su sesión empieza en {{starts_in}}: {{link}}"\n'
    )
    practice.schedule(spanish_session())
    [final] = [r for r in practice.preview(DAY_BEFORE, "--days", "2") if r["step"] == "final-30m"]
    assert final["body"] == f"{EMOJI} Su sesión empieza en 30 minutos: {LINK}"
    assert (final["encoding"], final["segments"]) == ("UCS-2", 2)
    assert final["warnings"] == [
        f"UCS-2 because of {EMOJI!r} 'ó': each segment holds 70 characters instead of 160",
        "2 segments: billed as 2 messages",
    ]


def test_fold_accents_false_sends_the_accents_as_written(practice):
    practice.write_config("", sms='provider = "outbox"\nfold_accents = false')
    practice.schedule(spanish_session())
    [final] = [r for r in practice.preview(DAY_BEFORE, "--days", "2") if r["step"] == "final-30m"]
    assert final["body"] == f"Su sesión con Dra. Chen empieza en 30 minutos. Entre ahora: {LINK}"
    assert (final["encoding"], final["segments"]) == ("UCS-2", 3)


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        ("sesión aquí día más Perú", "sesion aqui dia mas Peru"),
        ("ÁÍÓÚ áíóú", "AIOU aiou"),
        # GSM-7 has these letters: they stay as written.
        ("ñ é ü Ñ Ü à è ì ò ù Ä Ö Å Æ Ø ß É ä ö å æ ø ¿ ¡ Ç", None),
        ("mañana, señora Müller, café", None),
        # Outside GSM-7 with a plain form: folded too (ç is not GSM-7; Ç is).
        ("ç ê â î ô û ã õ È Ì Ò Ù", "c e a i o u a o E I O U"),
        # Something with no GSM-7 form keeps every accent: folding would not make it GSM-7.
        (f"sesión {EMOJI}", None),
        ("sesión a las 3 o’clock", None),
        ("sesión con ΣΑΒ", None),  # Σ is GSM-7, Α and Β are Greek letters it lacks
        ("", None),
    ],
)
def test_fold_accents(text, sent):
    folded = fold_accents(text)
    assert folded == (text if sent is None else sent)
    if sent is not None:
        assert count_segments(folded).encoding == "GSM-7"


# --- built-in Spanish texts -------------------------------------------------------------

ZONE = ZoneInfo("America/New_York")
START = datetime(2026, 11, 25, 10, 30, tzinfo=ZONE)  # a Wednesday: "el miércoles"


@pytest.mark.parametrize("step", [s for s, t in BUILTIN_ES.items() if t.sms])
@pytest.mark.parametrize(
    "before",
    [timedelta(minutes=30), timedelta(hours=24), timedelta(days=5), timedelta(days=8)],
    ids=str,
)
def test_every_spanish_text_is_one_gsm_segment_with_a_zoom_link_and_dra_chen(step, before):
    values = {
        "client_first_name": "Lucía",
        "client_name": "Lucía Gómez",
        "therapist": "Dra. Chen",
        "therapist_name": "Ana Chen",
        "practice": "Riverside Therapy",
        "link": LINK,
        **localized_values(START, START - before, "es"),
    }
    body = fold_accents(render(BUILTIN_ES[step].sms or "", values))
    assert one_gsm_segment(body), (body, count_segments(body))
    # The first text to a number carries the short opt-out notice and still fits.
    if before <= timedelta(hours=24):
        assert one_gsm_segment(f"{body} {wording('es').opt_out_short}")


def test_spanish_covers_every_built_in_step_with_the_same_fields():
    for step, english in BUILTIN.items():
        spanish = BUILTIN_ES[step]
        for field in ("sms", "email_subject", "email_body"):
            assert (english.get(field) is None) == (spanish.get(field) is None), (step, field)
    # The answers to replies, for when those steps arrive in English.
    assert BUILTIN_ES["link-reply"].sms and BUILTIN_ES["no-session"].sms


def test_no_spanish_text_invites_a_reply_of_cancel_or_uses_clinical_words():
    texts = [t for s in BUILTIN_ES.values() for t in (s.sms, s.email_subject, s.email_body) if t]
    texted = [s.sms for s in BUILTIN_ES.values() if s.sms]
    texted += [wording("es").opt_out, wording("es").opt_out_short]
    # A text never mentions cancelling at all: a client answering "cancelar" is one word
    # away from Twilio's CANCEL opt-out.
    assert not [t for t in texted if "cancel" in t.lower()]
    for text in texts:
        lowered = text.lower()
        assert not any(w in lowered for w in ("terapia", "tratamiento", "paciente", "clínic"))


@pytest.mark.parametrize(
    ("now", "day", "starts_in"),
    [
        (START - timedelta(minutes=30), "hoy", "30 minutos"),
        (START - timedelta(minutes=65), "hoy", "1 hora 5 minutos"),
        (START - timedelta(hours=24), "mañana", "1 día"),
        (START - timedelta(days=2), "el miércoles", "2 días"),
        (START - timedelta(days=8), "el 25 de noviembre", "1 semana 1 día"),
    ],
    ids=str,
)
def test_dates_in_spanish_come_from_the_locale(now, day, starts_in):
    values = localized_values(START, now, "es-MX")
    assert values == {
        "date": "miércoles 25 de noviembre",
        "time": "10:30",
        "day": day,
        "starts_in": starts_in,
    }


def test_the_same_instant_reads_in_each_clients_own_zone():
    chicago = START.astimezone(ZoneInfo("America/Chicago"))
    assert localized_values(START, START - timedelta(hours=2), "es")["time"] == "10:30"
    assert localized_values(chicago, chicago - timedelta(hours=2), "es")["time"] == "9:30"


def test_english_keeps_its_own_rendering():
    assert localized_values(START, START - timedelta(hours=1), "en-GB") == {}


# --- language tags and where they come from --------------------------------------------


@pytest.mark.parametrize(
    ("raw", "tag"),
    [
        ("es", "es"),
        ("ES", "es"),
        ("es-mx", "es-MX"),
        ("es_MX", "es-MX"),
        (" es-419 ", "es-419"),
        ("zh-hant-tw", "zh-Hant-TW"),
        ("spanish!", None),
        ("", None),
        (None, None),
        (3, None),
    ],
)
def test_normalize_tag(raw, tag):
    assert normalize_tag(raw) == tag


def test_fallbacks_and_tag_problems():
    assert fallbacks("es-419") == ["es-419", "es"]
    assert fallbacks("zh-Hant-TW") == ["zh-Hant-TW", "zh-Hant", "zh"]
    assert tag_problem("es-MX") is None
    assert "not one linkcli has wording for; known: en, es" in (tag_problem("fr") or "")


@pytest.mark.parametrize(
    ("communication", "language"),
    [
        (
            [
                {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en"}]}},
                {
                    "language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "es-MX"}]},
                    "preferred": True,
                },
            ],
            "es-MX",
        ),
        ([{"language": {"coding": [{"code": "es"}], "text": "Spanish"}}], "es"),
        ([{"language": {"text": "Spanish"}}, {"language": {"coding": [{"code": "pt"}]}}], "pt"),
        ([{"language": {"coding": [{"system": "x", "code": "??"}]}}], None),
        ("not a list", None),
        (None, None),
    ],
)
def test_fhir_patient_communication(communication, language):
    patient = {"resourceType": "Patient", "communication": communication}
    assert patient_language(patient) == language


def test_contacts_csv_language_column():
    directory = parse_directory(
        "client,name,email,mobile,channels,timezone,language\n"
        "cl-2,Lucía Gómez,lucia@example.org,+16175550102,both,,es_MX\n"
        "cl-3,Sam Lee,sam@example.org,,email,,\n"
    )
    assert [c.language for c in directory.contacts] == ["es-MX", None]
    with pytest.raises(DirectoryError) as caught:
        parse_directory(
            "client,name,email,mobile,channels,timezone,language\ncl-2,L,,,both,,Spanish!\n"
        )
    assert "line 2" in str(caught.value) and "'Spanish!' is not a BCP 47" in str(caught.value)


def test_contacts_language_reaches_the_client(practice):
    (practice.root / "contacts.csv").write_text(
        "client,name,email,mobile,channels,timezone,language\n"
        "cl-2,Lucía Gómez,lucia@example.org,+16175550102,both,,es\n"
    )
    practice.write_config('[contacts]\npath = "contacts.csv"\n')
    bare = {"id": "cl-2", "name": "Lucía Gómez"}
    practice.schedule(appointment(link=LINK, participants=[bare]))
    [final] = [r for r in practice.preview(DAY_BEFORE, "--days", "2") if r["step"] == "final-30m"]
    assert final["body"].startswith("Su sesion con Dr. Chen empieza en 30 minutos.")


def test_doctor_lists_the_languages_in_use(practice):
    practice.write_config(
        '[therapists."th-1".templates."final-30m".es]\nsms = "{therapist}: {starts_in} {link}"\n'
    )
    practice.schedule(
        appointment(link=LINK, participants=[client(), lucia(language="es-MX")]),
        appointment(id="apt-2", link=LINK, participants=[lucia(id="cl-9", language="fr")]),
    )
    result = practice.cli(DAY_BEFORE, "doctor", "--json")
    [check] = [c for c in json.loads(result.stdout)["checks"] if c["name"] == "languages"]
    assert check["status"] == "warn"
    detail = check["detail"]
    assert "en (1 client(s), the practice language): built-in en" in detail
    assert "es-MX (1 client(s)): built-in es" in detail
    assert "fr (1 client(s)): no templates in fr, these clients read en" in detail
    assert 'therapist th-1 has its own es "final-30m"' in detail
    assert (
        check["fix"]
        == "linkcli writes messages in en, es: these clients read en; check that they can"
    )


def test_rest_mapping_key_language(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(
        '[source]\nkind = "rest"\nbase_url = "https://gateway.example.org"\n'
        'path = "/v1/appointments"\nitems = "data"\n'
        '[source.map]\nid = "id"\nstart = "start"\ntherapist_id = "therapist"\n'
        'participant_id = "client.id"\nname = "client.name"\nlanguage = "client.lang"\n'
    )
    now = datetime(2026, 11, 23, 12, tzinfo=ZoneInfo("UTC"))
    record = {"id": "a-1", "start": "2026-11-24T15:00:00-05:00", "therapist": "th-1"}
    body = {
        "data": [
            {**record, "client": {"id": "cl-2", "name": "Lucía Gómez", "lang": "es_MX"}},
            {**record, "id": "a-2", "client": {"id": "cl-3", "name": "Sam Lee"}},
        ]
    }
    with httpx.Client() as http, respx.mock() as mock:
        mock.get("https://gateway.example.org/v1/appointments").respond(json=body)
        source = build(load_config(path, {}), {"LINKCLI_REST_TOKEN": "t-0"}, now, client=http)
        listing = source.fetch(Window(now - timedelta(days=1), now + timedelta(days=30)))
    assert [a.participants[0].language for a in listing.appointments] == ["es-MX", None]


# Twilio's counting: GSM-7 160 septets in one segment, 153 per part of a longer one; an
# extension character (^{}\[~]|€) is ESC + code, 2 septets, never split across parts;
# UCS-2 70 UTF-16 units, 67 per part; an astral character (emoji) is a surrogate pair, 2
# units, never split. Folding changes the encoding, never these rules.
@pytest.mark.parametrize(
    ("text", "sent", "encoding", "segments", "units"),
    [
        ("ñ" * 160, "ñ" * 160, "GSM-7", 1, 160),
        ("ñ" * 161, "ñ" * 161, "GSM-7", 2, 161),
        ("é" * 306, "é" * 306, "GSM-7", 2, 306),
        ("é" * 307, "é" * 307, "GSM-7", 3, 307),
        ("á" * 160, "a" * 160, "GSM-7", 1, 160),
        ("á" * 161, "a" * 161, "GSM-7", 2, 161),
        ("ó" * 158 + "€", "o" * 158 + "€", "GSM-7", 1, 160),
        ("ó" * 159 + "€", "o" * 159 + "€", "GSM-7", 2, 161),
        ("í" * 80 + "^{}\\[~]|", "i" * 80 + "^{}\\[~]|", "GSM-7", 1, 96),
        ("ú" * 152 + "€" + "ú" * 152, "u" * 152 + "€" + "u" * 152, "GSM-7", 3, 306),
        ("ú" * 151 + "€" + "ú" * 153, "u" * 151 + "€" + "u" * 153, "GSM-7", 2, 306),
        ("á" * 68 + EMOJI, None, "UCS-2", 1, 70),
        ("á" * 69 + EMOJI, None, "UCS-2", 2, 71),
        ("á" * 132 + EMOJI, None, "UCS-2", 2, 134),
        ("á" * 133 + EMOJI, None, "UCS-2", 3, 135),
        ("á" * 66 + EMOJI + "á" * 66, None, "UCS-2", 3, 134),
        ("á" * 65 + EMOJI + "á" * 67, None, "UCS-2", 2, 134),
        ("ê" * 70 + "’", None, "UCS-2", 2, 71),
        ("ê" * 69 + "’", None, "UCS-2", 1, 70),
    ],
    ids=lambda v: v if isinstance(v, int) else None,
)
def test_segments_after_folding_follow_twilios_rules(text, sent, encoding, segments, units):
    folded = fold_accents(text)
    assert folded == (text if sent is None else sent)
    info = count_segments(folded)
    assert (info.encoding, info.segments, info.units) == (encoding, segments, units)


def test_doctor_measures_the_texts_of_each_language_in_use(practice):
    long = "Hola, le escribimos de parte de {therapist}: su sesión empieza en {starts_in}. " * 2
    practice.write_config(f'[templates."final-30m".es]\nsms = "{long}{{link}}"\n')
    practice.schedule(appointment(link=LINK, participants=[client(), lucia()]))
    result = practice.cli(DAY_BEFORE, "doctor", "--json")
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["SMS length"]["status"] == "pass"  # the practice language fits
    assert checks["languages"]["status"] == "warn"
    assert "final-30m (es): 2 GSM-7 segments" in checks["languages"]["detail"]


def test_init_asks_the_practice_language(tmp_path):
    target = tmp_path / "config.toml"
    base = ["init", "--config", str(target), "--source", "file", "--name", "Sol Terapia"]
    base += ["--sms-provider", "outbox", "--email-provider", "outbox", "--yes", "--no-doctor"]
    result = CliRunner().invoke(app, [*base, "--language", "es_mx"])
    assert result.exit_code == 0, result.output
    config = load_config(target, {})
    assert config.practice.language == "es-MX"
    # A regional practice language reads the built-in texts of its language.
    assert config.message_language("final-30m", None, ("sms",), None) == "es"
    assert (config.template("final-30m", None, "sms") or "").startswith("Su sesión con")
    refused = CliRunner().invoke(app, [*base, "--force", "--language", "klingon"])
    assert refused.exit_code == 2
    assert "--language: 'klingon' is not a BCP 47 language tag" in refused.stderr
