"""Client mobile numbers: normalise to E.164 for SMS, and mask contacts for logs.

A participant with no mobile simply gets the email-only sequence; one whose mobile is
present but unusable gets email only *and* an `attention` item, so `normalize_mobile`
keeps those two cases apart (DESIGN.md, "Clients with no valid mobile number").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # loaded on first use: a quiet cron tick never parses a number
    pass

# Longer raw values are cut in messages so an attention line stays one readable line.


@dataclass(frozen=True)
class PhoneResult:
    """`e164` when the number can receive SMS; `problem` when it is present but cannot.

    Both are None when there is no number at all, which is not a problem.
    """

    e164: str | None
    problem: str | None


@lru_cache(maxsize=8192)  # a client's number recurs in every weekly session: parse it once
def normalize_mobile(raw: str | None, country: str) -> PhoneResult:
    """Normalise a client's mobile number to E.164, or say why it cannot take SMS.

    `country` is the ISO 3166 region (e.g. "US") assumed for numbers written without a
    +country code. Refused: anything phonenumbers does not consider a valid number,
    numbers containing letters (vanity numbers such as 1-800-FLOWERS), numbers with an
    extension (an extension cannot receive SMS) and numbers phonenumbers identifies as
    FIXED_LINE, i.e. landlines. FIXED_LINE_OR_MOBILE (all of North America) is accepted,
    because the metadata cannot tell the two apart there.
    """
    if raw is None or not raw.strip():
        return PhoneResult(None, None)
    import phonenumbers
    from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

    raw = raw.strip()
    shown = _shown(raw)
    region = (country or "").strip().upper()
    try:
        number = phonenumbers.parse(raw, region or None)
    except NumberParseException as exc:
        if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE and not raw.startswith("+"):
            # A config problem more than a data one, but the client still gets no SMS.
            return _problem(
                f"{shown} has no +country code and the default country {region!r} is unknown"
            )
        return _problem(f"{shown} is not a valid phone number")
    if number.extension:
        return _problem(f"{shown} has an extension; a number with an extension cannot get SMS")
    if _has_letters(raw):
        # phonenumbers maps letters to keypad digits; a client's mobile never has them,
        # so they are more likely a typo or a note than a vanity number.
        return _problem(f"{shown} is not a valid phone number (it contains letters)")
    if not phonenumbers.is_valid_number(number):
        return _problem(f"{shown} is not a valid phone number")
    if phonenumbers.number_type(number) == PhoneNumberType.FIXED_LINE:
        return _problem(f"{shown} is a landline and cannot receive SMS")
    return PhoneResult(phonenumbers.format_number(number, PhoneNumberFormat.E164), None)


def mask_phone(e164: str) -> str:
    """Mask a phone number for logs, keeping the country code and last 4 digits.

    "+16175550101" -> "+1******0101". Anything that is not E.164 keeps at most its last
    4 digits, so a malformed value cannot leak through a log line either.
    """
    digits = "".join(ch for ch in e164 if ch.isdigit())
    country_code = _country_code(e164)
    if not digits.startswith(country_code):
        country_code = ""
    rest = digits[len(country_code) :]
    # Too short to keep 4 digits and still hide something: hide it all.
    kept = rest[-4:] if len(rest) > 4 else ""
    return ("+" + country_code if country_code else "") + "*" * (len(rest) - len(kept)) + kept


def mask_email(addr: str) -> str:
    """Mask an email address for logs: first character of the local part, then the domain.

    "alex@example.org" -> "a***@example.org". The mask is always three stars, so the
    length of the name does not show; a value without "@" is masked entirely.
    """
    local, at, domain = addr.strip().rpartition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def email_problem(addr: str) -> str | None:
    """Why an email address cannot be sent to, or None. A line break, a control
    character or whitespace would split the message's headers (a header injection), so
    such an address is refused for good, never retried; the reason shows it masked."""
    local, at, domain = addr.rpartition("@")
    if any(not ch.isprintable() or ch.isspace() for ch in addr):
        return f"email {mask_email(addr)} contains a line break, space or control character"
    if not at or not local or "." not in domain:
        return f"email {mask_email(addr)} is not an email address"
    return None


def _country_code(e164: str) -> str:
    """The country calling code of a "+..." number, or "" when there is none to trust."""
    import phonenumbers
    from phonenumbers import NumberParseException

    try:
        return str(phonenumbers.parse(e164, None).country_code)
    except NumberParseException:
        return ""


def _problem(reason: str) -> PhoneResult:
    return PhoneResult(None, reason)


def _has_letters(raw: str) -> bool:
    # RFC 3966 "tel:" is a prefix phonenumbers understands, not part of the number.
    text = re.sub(r"^tel:", "", raw, flags=re.IGNORECASE)
    return any(ch.isalpha() for ch in text)


def _shown(raw: str) -> str:
    """The raw value for a one-line message, masked: a refused number is still a
    client's number (or, pasted in the wrong field, their email), so only its last four
    digits show, and only when it has enough digits to hide the rest."""
    digits = [ch for ch in raw if ch.isdigit()]
    kept = "".join(digits[-4:]) if len(digits) > 6 else ""
    return f"'***{kept}'"
