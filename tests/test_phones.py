"""Mobile numbers to E.164, with a readable reason when a present number is unusable.

The US numbers are 555-01xx, which are reserved as fictional yet valid in phonenumbers'
metadata. The UK mobile is phonenumbers' own example number (+44 7400 123456): Ofcom's
drama range (07700 900xxx) is *invalid* in the metadata, so it appears as a refusal.
"""

from __future__ import annotations

import pytest

from linkcli.core.phones import PhoneResult, mask_email, mask_phone, normalize_mobile

VALID = [
    ("(617) 555-0123", "US", "+16175550123"),
    ("+1 617 555 0101", "US", "+16175550101"),
    ("617.555.0101", "US", "+16175550101"),
    ("617-555-0101", "us", "+16175550101"),  # region case does not matter
    ("  +1 (617) 555-0101  ", "US", "+16175550101"),
    ("tel:+1-617-555-0101", "US", "+16175550101"),
    ("+1 617 555 0101", "GB", "+16175550101"),  # an explicit +1 beats the default
    ("+44 7400 123456", "US", "+447400123456"),
    ("07400 123456", "GB", "+447400123456"),
    ("+33 6 12 34 56 78", "US", "+33612345678"),
]

# A refused number is shown masked: its last four digits at most (PHI in every output).
PROBLEMS = [
    ("+1 555", "US", "'***' is not a valid phone number"),
    ("555-0101", "US", "'***0101' is not a valid phone number"),  # no area code
    ("+1 617 555 010", "US", "'***5010' is not a valid phone number"),
    ("+44 7700 900123", "US", "'***0123' is not a valid phone number"),
    ("abc", "US", "'***' is not a valid phone number"),
    ("call me", "US", "'***' is not a valid phone number"),
    ("617-555-0101 abc", "US", "'***0101' is not a valid phone number (it contains letters)"),
    ("1-800-FLOWERS", "US", "'***' is not a valid phone number (it contains letters)"),
    (
        "+1 617 555 0101 ext. 12",
        "US",
        "'***0112' has an extension; a number with an extension cannot get SMS",
    ),
    (
        "6175550101x12",
        "US",
        "'***0112' has an extension; a number with an extension cannot get SMS",
    ),
    ("+44 20 7946 0958", "US", "'***0958' is a landline and cannot receive SMS"),
    ("+33 1 23 45 67 89", "FR", "'***6789' is a landline and cannot receive SMS"),
    (
        "6175550101",
        "XX",
        "'***0101' has no +country code and the default country 'XX' is unknown",
    ),
    ("617\n555\x000101", "US", "'***0101' is not a valid phone number"),
    ("1" * 60, "US", "'***1111' is not a valid phone number"),
]


@pytest.mark.parametrize(("raw", "country", "e164"), VALID)
def test_valid_mobiles_become_e164(raw: str, country: str, e164: str) -> None:
    assert normalize_mobile(raw, country) == PhoneResult(e164, None)


@pytest.mark.parametrize(("raw", "country", "problem"), PROBLEMS)
def test_unusable_numbers_say_why(raw: str, country: str, problem: str) -> None:
    assert normalize_mobile(raw, country) == PhoneResult(None, problem)


@pytest.mark.parametrize("raw", [None, "", "   ", "\t\n"])
def test_no_number_is_not_a_problem(raw: str | None) -> None:
    # Email-only clients are normal: no e164, and nothing for a human to fix.
    assert normalize_mobile(raw, "US") == PhoneResult(None, None)


def test_e164_with_an_international_number_needs_no_country() -> None:
    assert normalize_mobile("+16175550101", "") == PhoneResult("+16175550101", None)


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        ("+16175550101", "+1******0101"),
        ("+447400123456", "+44******3456"),
        ("+33612345678", "+33*****5678"),
        ("6175550101", "******0101"),  # not E.164: still only the last 4 digits
        ("+1555", "+1***"),  # too short to show anything
        ("", ""),
    ],
)
def test_mask_phone(e164: str, masked: str) -> None:
    assert mask_phone(e164) == masked


@pytest.mark.parametrize(
    ("addr", "masked"),
    [
        ("alex@example.org", "a***@example.org"),
        ("a@example.org", "a***@example.org"),
        ("  Jordan.Lee+therapy@example.org ", "J***@example.org"),
        ('"odd@local"@example.org', '"***@example.org'),
        ("@example.org", "***@example.org"),
        ("not-an-address", "***"),
        ("", "***"),
    ],
)
def test_mask_email(addr: str, masked: str) -> None:
    assert mask_email(addr) == masked
