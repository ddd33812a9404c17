"""Segment counting: GSM-7 vs UCS-2, single vs multipart, no split escapes or pairs."""

from __future__ import annotations

import pytest

from linkcli.core.segments import GSM_BASIC, GSM_EXTENSION, SegmentInfo, count_segments

EMOJI = "\U0001f600"  # outside the BMP: a UTF-16 surrogate pair

CASES = [
    # (id, text, encoding, segments, units)
    ("empty", "", "GSM-7", 1, 0),
    ("plain-160", "a" * 160, "GSM-7", 1, 160),
    ("plain-161", "a" * 161, "GSM-7", 2, 161),
    ("plain-306", "a" * 306, "GSM-7", 2, 306),
    ("plain-307", "a" * 307, "GSM-7", 3, 307),
    ("e-acute-is-gsm", "Café", "GSM-7", 1, 4),
    ("gsm-greek-and-newlines", "Δ\r\nΩ", "GSM-7", 1, 4),
    ("e-circumflex-forces-ucs2", "Crêpe", "UCS-2", 1, 5),
    ("curly-quote-forces-ucs2", "See you at 3 o’clock", "UCS-2", 1, 20),
    ("ucs2-70", "ê" * 70, "UCS-2", 1, 70),
    ("ucs2-71", "ê" * 71, "UCS-2", 2, 71),
    ("ucs2-134", "ê" * 134, "UCS-2", 2, 134),
    ("ucs2-135", "ê" * 135, "UCS-2", 3, 135),
    ("emoji-is-two-units", EMOJI, "UCS-2", 1, 2),
    ("emoji-fills-70", "ê" * 68 + EMOJI, "UCS-2", 1, 70),
    ("emoji-tips-over-70", "ê" * 69 + EMOJI, "UCS-2", 2, 71),
    ("euro-counts-2", "€", "GSM-7", 1, 2),
    ("brace-counts-2", "{", "GSM-7", 1, 2),
    ("all-extension", "\f^{}\\[~]|€", "GSM-7", 1, 20),
    ("escape-fills-160", "a" * 158 + "€", "GSM-7", 1, 160),
    ("escape-tips-over-160", "a" * 159 + "€", "GSM-7", 2, 161),
    # In UCS-2 the extension characters are ordinary BMP characters: one unit each.
    ("euro-in-ucs2-is-1", "ê€", "UCS-2", 1, 2),
    # 306 septets would be 2 parts by division, but the escape pair at septets 153-154
    # cannot straddle: part 1 carries 152, part 2 carries 2 + 151, part 3 the last one.
    ("escape-straddles-153", "a" * 152 + "€" + "a" * 152, "GSM-7", 3, 306),
    ("escape-just-fits-153", "a" * 151 + "€" + "a" * 153, "GSM-7", 2, 306),
    # Same for a surrogate pair at UTF-16 units 67-68.
    ("pair-straddles-67", "ê" * 66 + EMOJI + "ê" * 66, "UCS-2", 3, 134),
    ("pair-just-fits-67", "ê" * 65 + EMOJI + "ê" * 67, "UCS-2", 2, 134),
]


@pytest.mark.parametrize(
    ("text", "encoding", "segments", "units"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_count_segments(text: str, encoding: str, segments: int, units: int) -> None:
    info = count_segments(text)
    assert (info.encoding, info.segments, info.units) == (encoding, segments, units)


@pytest.mark.parametrize(
    ("text", "non_gsm"),
    [
        ("Hello {name}, join here: https://zoom.us/j/1", ()),
        ("Café", ()),
        ("Crêpe", ("ê",)),
        ("It’s Dr. Núñez — see you ’soon’ 😀ê", ("’", "ú", "—", EMOJI, "ê")),
        ("ê" * 50, ("ê",)),
    ],
)
def test_non_gsm_lists_each_offender_once_in_order(text: str, non_gsm: tuple[str, ...]) -> None:
    assert count_segments(text).non_gsm == non_gsm


def test_result_is_a_frozen_value() -> None:
    assert count_segments("hi") == SegmentInfo("GSM-7", 1, 2, ())


def test_charset_tables_have_the_sizes_of_gsm_03_38() -> None:
    # 128 basic positions minus ESC; 10 extension characters (incl. form feed).
    assert len(GSM_BASIC) == 127
    assert len(GSM_EXTENSION) == 10
    assert not GSM_BASIC & GSM_EXTENSION
    assert "\x1b" not in GSM_BASIC
