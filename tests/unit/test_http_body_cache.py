"""Bodies built once per ETag, however many pollers miss at once when the read models move."""

from __future__ import annotations

import asyncio

import pytest

from tickets.http.positions import BodyCache


def test_concurrent_misses_for_one_tag_build_its_body_once() -> None:
    cache, calls = BodyCache(), []

    async def make() -> bytes:
        calls.append(1)
        await asyncio.sleep(0.05)
        return b"{}"

    async def run() -> list[bytes]:
        return list(await asyncio.gather(*(cache.build_once('W/"a"', make) for _ in range(8))))

    assert asyncio.run(run()) == [b"{}"] * 8
    assert len(calls) == 1 and cache.get('W/"a"') == b"{}"


def test_a_failed_build_fails_its_waiters_and_the_next_ask_builds_again() -> None:
    cache, calls = BodyCache(), []

    async def failing() -> bytes:
        calls.append(1)
        await asyncio.sleep(0.02)
        raise ConnectionError("database went away")

    async def run() -> list[object]:
        return list(await asyncio.gather(*(cache.build_once('W/"b"', failing) for _ in range(3)),
                                         return_exceptions=True))

    assert all(isinstance(e, ConnectionError) for e in asyncio.run(run()))
    assert len(calls) == 1 and cache.get('W/"b"') is None

    async def fine() -> bytes:
        return b"[]"

    assert asyncio.run(cache.build_once('W/"b"', fine)) == b"[]"


@pytest.mark.parametrize("tags", [('W/"x"', 'W/"y"')])
def test_different_tags_build_apart(tags: tuple[str, str]) -> None:
    cache, calls = BodyCache(), []

    async def make() -> bytes:
        calls.append(1)
        await asyncio.sleep(0.01)
        return b"1"

    async def run() -> None:
        await asyncio.gather(*(cache.build_once(t, make) for t in tags))

    asyncio.run(run())
    assert len(calls) == 2
