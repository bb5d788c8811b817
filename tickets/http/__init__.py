"""Dashboards and services over HTTP: the read API, the write API, the change stream, metrics, the page.

The engine starts it with ``start_http(create_app(make_context(desk, store)), host, port)``.
"""

from tickets.http.app import create_app
from tickets.http.context import HttpContext, make_context
from tickets.http.server import HttpHandle, start_http

__all__ = ["HttpContext", "HttpHandle", "create_app", "make_context", "start_http"]
