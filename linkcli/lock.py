"""One run at a time: an advisory lock file beside the database."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from linkcli.errors import LockHeld, StoreError
from linkcli.private_file import make_private_dirs

WAIT_SECONDS = 3.0


@contextmanager
def hold(db_path: Path, wait: float = WAIT_SECONDS) -> Iterator[None]:
    """Hold the store's lock, waiting up to `wait` seconds for another run to finish.

    The kernel drops a flock when its process dies, so a killed run never leaves the
    store locked.
    """
    lock_path = Path(f"{db_path}.lock")
    try:
        make_private_dirs(lock_path.parent)
        # O_NOFOLLOW: a lock file that is a symbolic link is refused, not followed.
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise StoreError(f"cannot open the lock file {lock_path}: {exc.strerror}") from None
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockHeld(
                        f"another linkcli run holds {lock_path}; this run did nothing "
                        "(it will catch up on the next cron tick)"
                    ) from None
                time.sleep(0.1)
        try:
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
