"""Files the bot and the CLI write to disk (exports, backups): readable by their owner only.

An export holds officers' names, phones and money; a file created 0644 and chmod-ed later is
readable by every user of the machine in between, so the file is created 0600 from the start.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

PRIVATE_MODE = 0o600


@contextmanager
def private_file(path: Path) -> Iterator[BinaryIO]:
    """A new file at `path`, mode 0600 from its creation, open for writing bytes.

    Whatever the path held is removed first: opening an existing file would keep its mode
    (and could follow a symbolic link someone put there).
    """
    path.unlink(missing_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    descriptor = os.open(path, flags, PRIVATE_MODE)
    with os.fdopen(descriptor, "wb") as stream:
        yield stream
