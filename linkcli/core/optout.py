"""Reading a client's reply: opt-out and opt-in keywords (a reply that is only the word)."""

from __future__ import annotations

import re
from typing import Literal

OPT_OUT = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT")
OPT_IN = ("START", "UNSTOP", "YES")


def classify_reply(body: str) -> Literal["opt_out", "opt_in"] | None:
    """`opt_out`, `opt_in` or None. Carriers match the keyword alone, ignoring case and
    surrounding punctuation/space ("Stop." counts; "please stop texting" does not)."""
    word = re.sub(r"[^A-Za-z]", "", body.strip()).upper() if len(body) <= 40 else ""
    if not word or not re.fullmatch(r"[\s\W]*[A-Za-z]+[\s\W]*", body.strip()):
        return None
    if word in OPT_OUT:
        return "opt_out"
    if word in OPT_IN:
        return "opt_in"
    return None


def means_cancel(body: str) -> bool:
    """True for a bare CANCEL: Twilio treats it as an opt-out, but the client may well
    have meant their session, so a human is told."""
    return re.sub(r"[^A-Za-z]", "", body.strip()).upper() == "CANCEL" and (
        classify_reply(body) == "opt_out"
    )
