"""The holiday names the ``holidays`` package gives a country, kept on disk per package release.

A policy file's ``except = ["Good Friday"]`` must name a holiday the package gives the country
(``domain.policy_calendars``). Finding the names means importing the country's module, and
importing any country imports all of the package's ~250 country modules: about 0.15 s that every
command loading the policy catalogue would pay, for an answer that only changes when the
installed ``holidays`` release does. So the command line hands the policy loader this module's
``holiday_names`` (``use_holiday_names``; the domain itself keeps no files): the names are
computed once per release, country and subdivision and written to a small JSON file in the
user's cache directory (``$XDG_CACHE_HOME/tickets-engine``, by default
``~/.cache/tickets-engine``); the next process reads them from there. The check is the same
either way: a name not in the set is refused. A missing, unreadable or malformed file is
computed again, and a cache directory that cannot be written only costs the time.
"""

from __future__ import annotations

import json
import os
import tempfile
from functools import cache
from pathlib import Path

import holidays

from tickets.domain.policy_calendars import EXCEPTION_YEARS, package_holiday_names


def holiday_names(country: str, subdivision: str | None) -> frozenset[str]:
    """Every name the package gives ``country`` (and ``subdivision``) in ``EXCEPTION_YEARS``."""
    key = f"{country}/{subdivision or ''}"
    stored = _stored()
    names = stored.get(key)
    if names is None:
        names = sorted(package_holiday_names(country, subdivision))
        stored[key] = names
        _store(stored)
    return frozenset(names)


def cache_file() -> Path:
    """This release's file: the package version and the years are part of its name."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    release = f"{holidays.__version__}-{EXCEPTION_YEARS[0]}-{EXCEPTION_YEARS[-1]}"
    return Path(base) / "tickets-engine" / f"holiday-names-{release}.json"


@cache
def _stored() -> dict[str, list[str]]:
    """The names kept for this release, by ``country/subdivision``; empty when none are."""
    try:
        data = json.loads(cache_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {key: names for key, names in data.items()
            if isinstance(names, list) and all(isinstance(n, str) for n in names)}


def _store(names: dict[str, list[str]]) -> None:
    """Write the names atomically (a reader never sees half a file); give up quietly on failure."""
    path = cache_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".holiday-names-")
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(names, out, sort_keys=True)
        os.replace(temporary, path)
    except OSError:
        Path(temporary).unlink(missing_ok=True)


def forget() -> None:
    """Drop what this process read from the file (for tests that change the cache directory)."""
    _stored.cache_clear()
