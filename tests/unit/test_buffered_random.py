"""The intake's random source: operating-system bytes read in blocks, drawing like SystemRandom."""

from __future__ import annotations

import random
from collections import Counter

from tickets.consumers.buffered_random import BufferedSystemRandom
from tickets.domain.numbers import ALPHABET, new_number, normalise_number


def test_ticket_numbers_drawn_from_it_are_well_formed_and_spread() -> None:
    rng = BufferedSystemRandom()
    numbers = [new_number("WEB", rng) for _ in range(2000)]
    assert all(normalise_number(n) == n for n in numbers)
    assert len(set(numbers)) == len(numbers)
    letters = Counter("".join(n[4:] for n in numbers))
    assert set(letters) == set(ALPHABET)
    assert max(letters.values()) < 2 * min(letters.values())


def test_draws_stay_in_range_and_cannot_be_seeded() -> None:
    rng = BufferedSystemRandom()
    assert all(0 <= rng.random() < 1 for _ in range(1000))
    assert all(0 <= rng.getrandbits(13) < 2 ** 13 for _ in range(1000))
    assert rng.getrandbits(0) == 0 and len(rng.randbytes(5000)) == 5000
    rng.seed(7)
    other = BufferedSystemRandom()
    other.seed(7)
    assert [rng.random() for _ in range(3)] != [other.random() for _ in range(3)]
    assert isinstance(rng, random.SystemRandom)
