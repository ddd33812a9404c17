""" "Did you mean": the nearest known word to a misspelt one (keys, kinds, commands)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: object, known: Iterable[str]) -> str:
    """`; did you mean 'timezone'?` when one known word is close to `word`, else ''."""
    if not isinstance(word, str) or not word:
        return ""
    choices = list(known)
    lowered = {c.lower(): c for c in choices}
    if word.lower() in lowered and lowered[word.lower()] != word:
        return f"; did you mean {lowered[word.lower()]!r}?"
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.75)
    return f"; did you mean {lowered[close[0]]!r}?" if close else ""
