"""What the ``holidays`` package says of a country, kept on disk per package release.

A policy file's calendar names a holiday country (and subdivision) the package must know, and its
``except = ["Good Friday"]`` a holiday the package gives that country (``domain.policy_calendars``,
``domain.calendar_validation``). Asking means importing the package (a tenth of a second), and
finding the names means importing a country's module, which imports all of the package's ~250
country modules (another 0.15 s): time every command that loads the policy catalogue would pay,
for answers that only change when the installed ``holidays`` release does. So the command line
hands the policy loader this module's ``holiday_names`` and ``country_problem``
(``use_holiday_names``, ``use_country_problems``; the domain itself keeps no files): each answer
is computed once per release, country and subdivision and written to a small JSON file in the
user's cache directory (``$XDG_CACHE_HOME/tickets-engine``, by default
``~/.cache/tickets-engine``); the next process reads it from there, and a command whose calendars
have their years pinned then imports no part of the package. The checks are the same either way:
a country, subdivision or name the package does not know is refused. A missing, unreadable or
malformed file is computed again, and a cache directory that cannot be written only costs the time.
"""

from __future__ import annotations

import importlib.util
import json
import os
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from tickets.domain.calendar_validation import package_country_problem
from tickets.domain.policy_calendars import EXCEPTION_YEARS, package_holiday_names


def holiday_names(country: str, subdivision: str | None) -> frozenset[str]:
    """Every name the package gives ``country`` (and ``subdivision``) in ``EXCEPTION_YEARS``."""
    return frozenset(_kept("names", country, subdivision,
                           lambda c, s: sorted(package_holiday_names(c, s))))


def country_problem(country: str, subdivision: str | None) -> str | None:
    """Why the package does not know ``country`` (or its ``subdivision``), or None."""
    problem: str | None = _kept("problems", country, subdivision, package_country_problem)
    return problem


def _kept(kind: str, country: str, subdivision: str | None,
          ask: Callable[[str, str | None], Any]) -> Any:
    """The ``kind`` answer kept for (``country``, ``subdivision``), asked of the package and kept
    when there is none."""
    key = f"{country}/{subdivision or ''}"
    kept = _stored()[kind]
    if key not in kept:
        _keep(kind, key, ask(country, subdivision))
    return kept[key]


def cache_file() -> Path:
    """This release's file: the package version and the years are part of its name."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    release = f"{_release()}-{EXCEPTION_YEARS[0]}-{EXCEPTION_YEARS[-1]}"
    return Path(base) / "tickets-engine" / f"holidays-{release}.json"


@cache
def _release() -> str:
    """The installed release, read off the name of its metadata folder beside the package
    (``holidays-0.62.dist-info``): the package itself asks ``importlib.metadata``, which costs
    more than the rest of a command's imports of it. The package's own word when there is not
    exactly one such folder."""
    spec = importlib.util.find_spec("holidays")
    if spec is not None and spec.origin is not None:
        folders = list(Path(spec.origin).parent.parent.glob("holidays-*.dist-info"))
        if len(folders) == 1:
            return folders[0].name[len("holidays-"):-len(".dist-info")]
    import holidays

    return str(holidays.__version__)


#: What a kept answer of each kind must be; any other is left out (and asked again).
_VALID: dict[str, Callable[[Any], bool]] = {
    "names": lambda value: isinstance(value, list) and all(isinstance(n, str) for n in value),
    "problems": lambda value: value is None or isinstance(value, str),
}


@cache
def _stored() -> dict[str, dict[str, Any]]:
    """The answers kept for this release, by kind (``_VALID``) and ``country/subdivision``."""
    try:
        data = json.loads(cache_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    if not isinstance(data, dict):
        data = {}
    kept: dict[str, dict[str, Any]] = {}
    for kind, valid in _VALID.items():
        answers = data.get(kind)
        kept[kind] = ({key: value for key, value in answers.items() if valid(value)}
                      if isinstance(answers, dict) else {})
    return kept


def _keep(kind: str, key: str, answer: Any) -> None:
    """Add an answer and write the file atomically (a reader never sees half a file); give up
    writing quietly when it cannot be written (the answer is still kept in this process)."""
    stored = _stored()
    stored[kind][key] = answer
    path = cache_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".holidays-")
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(stored, out, sort_keys=True)
        os.replace(temporary, path)
    except OSError:
        Path(temporary).unlink(missing_ok=True)


def forget() -> None:
    """Drop what this process read from the file (for tests that change the cache directory)."""
    _stored.cache_clear()
