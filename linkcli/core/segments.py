"""SMS length in segments, as a carrier bills it (GSM 03.38 / 3GPP TS 23.038).

A message is GSM-7 when every character is in the GSM basic set or its extension table;
one character outside both turns the whole message into UCS-2, which cuts a segment from
160 to 70 characters (a curly quote pasted into a template roughly doubles the cost).

Long messages are split into parts that each carry a 6-byte concatenation header, leaving
153 septets (GSM-7) or 67 UTF-16 code units (UCS-2) per part. Handsets never split an
escape sequence (ESC + character) or a surrogate pair across parts, so the count is made
by packing characters greedily rather than by dividing the total.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM_7 = "GSM-7"
UCS_2 = "UCS-2"

# The GSM 03.38 basic character set, in table order (0x00-0x7F). 0x1B (ESC) is left out:
# it only introduces the extension table and is not a character a message can contain.
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

# The extension table: each is sent as ESC + code, so it costs 2 septets.
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")
_GSM_ALL = GSM_BASIC | GSM_EXTENSION

GSM_SINGLE = 160
GSM_MULTI = 153
UCS_SINGLE = 70
UCS_MULTI = 67


@dataclass(frozen=True)
class SegmentInfo:
    """How a message will be encoded and how many segments it costs.

    `units` is septets for GSM-7 (an extension character counts 2) and UTF-16 code units
    for UCS-2 (a character outside the Basic Multilingual Plane, e.g. an emoji, counts 2).
    `non_gsm` lists the characters that forced UCS-2, each once, in order of appearance.
    """

    encoding: str
    segments: int
    units: int
    non_gsm: tuple[str, ...] = ()


def count_segments(text: str) -> SegmentInfo:
    """Count the encoding, units and segments of an SMS body.

    Empty text is reported as 1 GSM-7 segment of 0 units: a provider bills at least one
    segment for any message it accepts, and callers compare against a limit of 1.
    """
    non_gsm = tuple(dict.fromkeys(ch for ch in text if ch not in _GSM_ALL))
    if non_gsm:
        # UTF-16: astral characters are a surrogate pair, i.e. two code units.
        weights = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
        return SegmentInfo(UCS_2, _pack(weights, UCS_SINGLE, UCS_MULTI), sum(weights), non_gsm)
    weights = [2 if ch in GSM_EXTENSION else 1 for ch in text]
    return SegmentInfo(GSM_7, _pack(weights, GSM_SINGLE, GSM_MULTI), sum(weights))


def _pack(weights: list[int], single: int, multi: int) -> int:
    """Segments needed when no character (of weight 1 or 2) may be split across parts."""
    if sum(weights) <= single:
        return 1
    segments, used = 1, 0
    for weight in weights:
        if used + weight > multi:
            # The pair does not fit in what is left: the part is sent one unit short.
            segments += 1
            used = 0
        used += weight
    return segments


def _fold_char(ch: str) -> str | None:
    """The GSM-7 letter `ch` becomes without its accent (á -> a, Ú -> U), else None."""
    import unicodedata

    if not ch.isalpha():
        return None
    decomposed = unicodedata.normalize("NFD", ch)
    base, marks = decomposed[0], decomposed[1:]
    if not marks or not all(unicodedata.combining(m) for m in marks):
        return None
    return base if base in GSM_BASIC else None


def fold_accents(text: str) -> str:
    """`text` with accents dropped from letters outside GSM-7, when that makes it GSM-7.

    Only letters GSM-7 lacks are folded (á í ó ú ç Á ...); the ones it has (é ñ ü à è ì ò
    Ñ Ü É Ä Ö Å Æ Ø ß ...) are kept as written. If anything else would still force UCS-2
    (an emoji, a curly quote, a letter without a plain form), the text is returned
    unchanged: it costs UCS-2 either way, and then the accents may as well stay.
    """
    if all(ch in _GSM_ALL for ch in text):
        return text
    out: list[str] = []
    for ch in text:
        if ch in _GSM_ALL:
            out.append(ch)
            continue
        folded = _fold_char(ch)
        if folded is None:
            return text
        out.append(folded)
    return "".join(out)
