"""Text from the schedule shown as text (DESIGN.md, PHI and terminal safety).

Names, titles and ids come from systems linkcli does not control. `plain` makes any of
them one printable line: terminal escape sequences (colours, conceal, OSC 8 hyperlinks,
title changes) and every other control or invisible formatting character are removed,
so nothing from a record can drive the operator's terminal or cron mail. `plain_name`
also drops anything in a name that a phone or a mail client would turn into a link
(`https://…`, `www.…`, a bare domain, an address), so a name can never carry a link past
`[links] allowed_hosts` into a message.
"""

from __future__ import annotations

import re
import unicodedata

# ESC-introduced sequences: CSI (ESC [ … final byte), OSC/DCS/PM/APC/SOS (ESC ] … BEL or
# ST), and two-character escapes; their C1 single-byte forms (U+009B CSI, U+009D OSC).
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[@-Z\\-_]?"
)
_LOWER_DOMAIN = re.compile(r"^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}[.,;:!?)]*$")


def plain(text: str) -> str:
    """`text` as one printable line: escape sequences removed, other control and
    invisible formatting characters removed, line breaks and tabs become spaces."""
    if text.isprintable():
        return text
    text = _ESCAPES.sub("", text)
    out = []
    for ch in text:
        if ch in "\r\n\t\v\f\u2028\u2029\x85":
            out.append(" ")
        elif (
            ch.isprintable()
            or ch == " "
            or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")
        ):
            out.append(ch)
    return "".join(out)


def plain_name(text: str | None) -> str | None:
    """A person's name as messages may carry it: `plain`, without link-like words
    (a URL, `www.…`, an address, a lower-case bare domain such as `evil.example`);
    None when nothing is left."""
    if text is None:
        return None
    words = [w for w in plain(text).split() if not _link_like(w)]
    return " ".join(words) or None


def _link_like(word: str) -> bool:
    if "://" in word or word.lower().startswith("www.") or "@" in word:
        return True
    # "Dr.Chen" or "J.R." stay names; "evil.example" or "evil.example/login" do not.
    return bool(re.match(r"^[\w-]+(?:\.[\w-]+)+/", word)) or bool(_LOWER_DOMAIN.match(word))
