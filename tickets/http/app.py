"""The HTTP app: read API, write API, change stream, metrics and the dashboard page, over one desk.

``create_app(make_context(desk, store))`` builds it; ``tickets.http.server.start_http`` serves it.
Every ``/api`` route needs a bearer token (see ``auth`` and ``roles``); ``/``, ``/static``,
``/metrics``, ``/openapi.json`` and ``/docs`` do not.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from tickets.http import (
    audit_routes,
    metrics,
    openapi,
    page,
    privacy_routes,
    read_routes,
    stream,
    write_routes,
)
from tickets.http.context import HttpContext
from tickets.http.fast_reads import FastReads
from tickets.http.indexes import ensure_read_models
from tickets.http.positions import BodyCache
from tickets.http.problems import install_handlers
from tickets.http.read_after import WaitForWrites
from tickets.http.url_text import UrlText

DESCRIPTION = """Tickets, SLA clocks, escalation queues and dashboard figures from the read models;
commands as on the intake topic. Send `Authorization: Bearer <token>` (see `tickets token create`).
Refusals are JSON: `error`, `message`, `field`, `rule`."""


def create_app(ctx: HttpContext) -> FastAPI:
    ensure_read_models(ctx.store, ctx.desk.catalogue)
    app = FastAPI(title="tickets", version="1", description=DESCRIPTION)
    app.state.ctx = ctx
    app.state.bodies = BodyCache()
    app.state.metrics_registry = metrics.registry_for(ctx)
    install_handlers(app)
    app.add_middleware(FastReads)
    app.add_middleware(WaitForWrites)  # outside FastReads: a kept body may be older than the write
    app.add_middleware(UrlText)  # outside FastReads: nothing reads a URL that is not text
    app.add_middleware(metrics.RequestMetrics)  # added last: outside FastReads, so it counts them too
    for module in (read_routes, audit_routes, write_routes, privacy_routes, stream, metrics, page):
        app.include_router(module.router)
    openapi.install(app)
    app.mount("/static", StaticFiles(directory=page.STATIC), name="static")
    return app
