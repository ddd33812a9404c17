"""Small owner-only files beside the store (source caches, tokens), and the one way
linkcli reads a local input file (a schedule, a calendar feed, a contacts list)."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path


def write_private(path: Path, text: str) -> bool:
    """Replace `path` atomically with `text`, created 0600 from the first byte (the
    caches hold client contacts or a token). A failed write is never fatal to a sync:
    False, and the old file (if any) stays."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        make_private_dirs(path.parent)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)  # O_CREAT's mode is ignored for a file left behind
            os.write(fd, text.encode("utf-8"))
        finally:
            os.close(fd)
        os.replace(tmp, path)
        return True
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        return False


def make_private_dirs(folder: Path) -> None:
    """Create `folder` and its missing parents owner-only (0700) whatever the umask
    (mkdir's mode is masked by it: under umask 000 they would be 0777). Folders that
    already exist are left as they are."""
    missing: list[Path] = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for made in reversed(missing):
        made.mkdir(mode=0o700, exist_ok=True)
        os.chmod(made, 0o700)


def refuse_symlink(path: Path, what: str) -> None:
    """OSError when `path` is a symbolic link (dangling or not): linkcli writes and
    chmods only files it made, never someone else's file a link points at. Anything
    else that is not a regular file (a directory, a FIFO that would hang the run) is
    refused too."""
    if path.is_symlink():
        raise OSError(
            f"{what} {path} is a symbolic link; point the setting at the real file "
            "(linkcli never writes or chmods through a link)"
        )
    if path.exists() and not path.is_file():
        raise OSError(f"{what} {path} is not a regular file")


# A schedule export or a calendar feed with years of history is a few megabytes; far
# beyond that, the path is not one (`/dev/zero`, a log file, a disk image).
MAX_INPUT_BYTES = 64 * 1024 * 1024


def read_input(path: Path, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of a local input file. Only a regular file (or a symlink to one) is
    read: a FIFO would hang a cron run and a device never ends, so anything else, and a
    file larger than `limit`, raises OSError with a one-line reason (FileNotFoundError
    for a missing file, as `open` does)."""
    # O_NONBLOCK: opening a FIFO with no writer returns at once instead of waiting.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise OSError(f"{path} is {kind}")
        if info.st_size > limit:
            raise OSError(f"{path} is larger than {limit // (1024 * 1024)} MB")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise OSError(f"{path} is larger than {limit // (1024 * 1024)} MB")
    return data
