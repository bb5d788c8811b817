"""Operating-system randomness, read 4 KiB at a time: ticket numbers without a system call per draw.

``random.SystemRandom`` asks the kernel for fresh bytes on every draw; a ticket number takes six
draws plus rejections, about a dozen ``getrandom`` calls, which cost the intake as much as the rest
of an ``open`` on a busy machine. This generator draws the same way from the same source, but
reads it in blocks. Like ``SystemRandom`` it cannot be seeded and its state is never exposed.
"""

from __future__ import annotations

import os
import random
from typing import Any

_BLOCK = 4096


class BufferedSystemRandom(random.SystemRandom):
    def __init__(self) -> None:
        super().__init__()
        self._buffer = b""
        self._offset = 0

    def _take(self, count: int) -> bytes:
        if self._offset + count > len(self._buffer):
            self._buffer = os.urandom(max(_BLOCK, count))
            self._offset = 0
        chunk = self._buffer[self._offset:self._offset + count]
        self._offset += count
        return chunk

    def getrandbits(self, k: int) -> int:
        if k < 0:
            raise ValueError("number of bits must be non-negative")
        if k == 0:
            return 0
        value = int.from_bytes(self._take((k + 7) // 8), "big")
        return value >> (-k % 8)

    def random(self) -> float:
        return (int.from_bytes(self._take(7), "big") >> 3) * 2.0 ** -53

    def randbytes(self, n: int) -> bytes:
        return self._take(n)

    def seed(self, *args: Any, **kwargs: Any) -> None:
        return None
