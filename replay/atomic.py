"""Files that appear whole or not at all: written to a temporary file beside the target, then renamed.

``os.replace`` within one directory is atomic on POSIX, so a reader sees the old file or the new
one, never half of it. If anything fails on the way, the temporary files are removed and the
targets are left as they were (with several targets, each is replaced on its own once all of them
are written).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from tickets.domain.errors import ValidationError


def _unwritable(path: Path, reason: str) -> ValidationError:
    return ValidationError(f"cannot write {path}: {reason}", field="out", rule="writable_path")


def _temporary(path: Path, stack: contextlib.ExitStack) -> tuple[Path, IO[str]]:
    if path.is_dir():
        raise _unwritable(path, "it is a directory")
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as error:
        raise _unwritable(path, error.strerror or str(error)) from None
    temp = Path(name)
    stack.callback(lambda: temp.unlink(missing_ok=True))
    return temp, stack.enter_context(open(fd, "w", encoding="utf-8", newline=""))


@contextlib.contextmanager
def atomic_files(paths: Sequence[Path]) -> Iterator[list[IO[str]]]:
    """Open a temporary text file for each path; on success rename each onto its path."""
    with contextlib.ExitStack() as stack:
        temps = [(path, *_temporary(path, stack)) for path in paths]
        try:
            yield [handle for _, _, handle in temps]
            for path, temp, handle in temps:
                handle.flush()
                os.fsync(handle.fileno())
                handle.close()
                os.replace(temp, path)
        except OSError as error:  # a disk that fills up, or a target that cannot be replaced
            raise _unwritable(paths[0], error.strerror or str(error)) from None
