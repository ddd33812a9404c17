"""The contacts directory on disk, and its join to a source's listing.

`sync` calls `join_listing(listing, load_directory(path))` when `[contacts] path` is set.
The pure rules live in `linkcli.core.contacts`; this module only reads the file and turns
its faults into a ConfigError (exit 2) that names the file and the line.
"""

from __future__ import annotations

from pathlib import Path

from linkcli.core.contacts import Directory, DirectoryError, join_appointments, parse_directory
from linkcli.errors import ConfigError
from linkcli.private_file import read_input
from linkcli.sources.base import Listing


def load_directory(path: Path) -> Directory:
    """Read the contacts CSV at `path`; raise ConfigError naming the file and each bad line."""
    try:
        text = read_input(path).decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"the contacts file {path} does not exist; create it with the header "
            "client,name,email,mobile,channels,timezone or fix [contacts] path"
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(
            f'the contacts file {path} is not UTF-8 text; save it as "CSV UTF-8"'
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the contacts file {path}: {exc.strerror or exc}") from None
    try:
        return parse_directory(text, path.name)
    except DirectoryError as exc:
        raise ConfigError(exc.problems, str(path)) from None


def join_listing(listing: Listing, directory: Directory) -> Listing:
    """A new listing whose participants are joined to the directory.

    Problems (a title matching no contact, or several) are added to the listing's
    problems so they reach `status` attention; `skipped_ids` and `complete` are kept, so
    the join never makes an appointment look vanished.
    """
    appointments, problems = join_appointments(listing.appointments, directory)
    return Listing(
        appointments=appointments,
        problems=[*listing.problems, *problems],
        skipped_ids=set(listing.skipped_ids),
        complete=listing.complete,
    )
