"""Reading the desks' policy files into the domain's ``Catalogue``.

Each version of a desk is one TOML file (the format is in ``docs/policies.md``). The shipped desks
live in ``domain/policies/``, the versions they superseded in ``domain/policies/superseded/``
(kept so the tickets opened under them keep their figures); a user adds a desk by dropping a file
into a directory passed to :func:`load_catalogue`. Every mistake in a file is a
:class:`PolicyError` naming the file, the dotted key and the reason. The domain turns the tables
into desks (``domain.desk_loader``); this module only finds and reads the files.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from tickets.domain.catalogue import Catalogue
from tickets.domain.desk_loader import read_desk
from tickets.domain.errors import PolicyError
from tickets.domain.policy import Desk
from tickets.domain.policy_toml import Location, Table

#: The folder, inside a policy directory, that holds the superseded versions of its desks.
SUPERSEDED = "superseded"


def load_desk(path: Location) -> Desk:
    """Read and validate one policy file; raise :class:`PolicyError` naming file, key and reason."""
    return read_desk(read_toml(path))


def shipped_policies() -> Traversable:
    """The directory of policy files that ships with the package (superseded versions in its
    ``superseded/`` folder)."""
    return resources.files("tickets.domain").joinpath("policies")


def load_catalogue(
    directory: Location | None = None, extra_dirs: Iterable[Location] = ()
) -> Catalogue:
    """Load every ``*.toml`` in ``directory`` (default: the shipped desks) and in ``extra_dirs``,
    and in each one's ``superseded/`` folder if it has one (older versions of its desks)."""
    folders = [shipped_policies() if directory is None else directory, *extra_dirs]
    return Catalogue(load_desk(file) for folder in folders for file in _policy_files(folder))


def _policy_files(folder: Location) -> list[Traversable]:
    where = folder if isinstance(folder, Traversable) else Path(folder)
    if not where.is_dir():
        raise PolicyError("policy directory does not exist", file=str(folder))
    superseded = where.joinpath(SUPERSEDED)
    return _toml_files(where) + (_toml_files(superseded) if superseded.is_dir() else [])


def _toml_files(where: Traversable) -> list[Traversable]:
    return sorted(
        (f for f in where.iterdir()
         if f.is_file() and f.name.endswith(".toml") and not f.name.startswith(".")),
        key=lambda f: f.name,
    )


def read_toml(path: Location) -> Table:
    """The whole file as its root table; an unreadable file is a :class:`PolicyError`."""
    file = path if isinstance(path, Traversable) else Path(path)
    try:
        data = tomllib.loads(file.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise PolicyError(f"cannot read the file: {exc.strerror or exc}", file=str(path)) from None
    except UnicodeDecodeError:
        raise PolicyError("the file is not UTF-8 text", file=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"not valid TOML: {exc}", file=str(path)) from None
    return Table(str(path), "", data)
