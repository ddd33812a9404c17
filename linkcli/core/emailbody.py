"""Plain text -> a small, safe HTML email body.

The text of a message contains client-supplied values (names, notes), so every character
is escaped; the only markup this module writes is its own: paragraphs, line breaks and
links for https:// URLs. Pure: no I/O.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection

# Only https: a telehealth link is always https, and linking other schemes (javascript:,
# data:, plain http) from client-supplied text would be a hazard, not a feature.
# A URL ends at whitespace or at characters that cannot appear unencoded in one.
_URL = re.compile(r"https://[^\s<>\"'`]+", re.IGNORECASE)
# Sentence punctuation right after a URL belongs to the sentence, not the URL.
_TRAILING = ".,;:!?"
_PAIRS = {")": "(", "]": "[", "}": "{"}

_DOCUMENT = (
    "<!DOCTYPE html>\n"
    '<html>\n<head>\n<meta charset="utf-8">\n'
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
    "</head>\n<body>\n{body}\n</body>\n</html>\n"
)


def to_html(text: str, links: Collection[str] | None = None) -> str:
    """Render plain text as a minimal HTML document.

    Everything is HTML-escaped; https:// URLs become `<a href>` links (escaped once, so
    `&` in a query string is `&amp;` in both the attribute and the link text); blank
    lines separate `<p>` paragraphs and single newlines become `<br>`. With `links`
    given, only those URLs become links (the session link the policy checked): any
    other URL in the text stays text, never clickable.
    """
    normalized = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = [p.strip("\n") for p in re.split(r"\n[ \t]*\n", normalized)]
    rendered = [
        "<p>" + "<br>\n".join(_render_line(line, links) for line in p.split("\n")) + "</p>"
        for p in paragraphs
        if p.strip()
    ]
    return _DOCUMENT.format(body="\n".join(rendered))


def _render_line(line: str, links: Collection[str] | None) -> str:
    """Escape one line, turning each https:// URL (each of `links`) into a link."""
    out: list[str] = []
    pos = 0
    for match in _URL.finditer(line):
        url = _trim(match.group(0))
        if len(url) <= len("https://") or (links is not None and url not in links):
            continue  # a bare "https://" is not a link; an unchecked URL stays text
        out.append(html.escape(line[pos : match.start()]))
        # The raw URL is escaped exactly once for both places; escaping an already
        # escaped string would turn &amp; into &amp;amp; and break query strings.
        safe = html.escape(url, quote=True)
        out.append(f'<a href="{safe}">{safe}</a>')
        pos = match.start() + len(url)
    out.append(html.escape(line[pos:]))
    return "".join(out)


def _trim(url: str) -> str:
    """Drop trailing punctuation and unbalanced closing brackets from a matched URL."""
    while url:
        last = url[-1]
        if last in _TRAILING:
            url = url[:-1]
        elif last in _PAIRS and url.count(last) > url.count(_PAIRS[last]):
            # "(see https://x.example.org/a)" -> the ")" closes the sentence's bracket.
            url = url[:-1]
        else:
            break
    return url
