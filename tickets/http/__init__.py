"""Dashboards and services over HTTP: the read API, the write API, the change stream, metrics, the page.

The engine starts it with ``start_http(create_app(make_context(desk, store)), host, port)`` (or
``serve_engine(engine, host, port)``). The names below load on first use, so that the command
line's other commands do not pay for importing the web framework.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tickets.http.app import create_app
    from tickets.http.context import HttpContext, make_context
    from tickets.http.server import HttpHandle, serve_engine, start_http

_HOMES = {"create_app": "app", "HttpContext": "context", "make_context": "context",
          "HttpHandle": "server", "serve_engine": "server", "start_http": "server"}
__all__ = ["HttpContext", "HttpHandle", "create_app", "make_context", "serve_engine", "start_http"]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
