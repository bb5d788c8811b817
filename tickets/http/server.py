"""Serve an app with uvicorn in a thread of the engine's process, and stop it cleanly.

``start_http(app, host, port)`` binds the socket before it returns (so port 0 means "any free
port", read back from ``handle.port``), runs uvicorn in a daemon thread and waits until it
accepts connections. ``handle.stop()`` ends open event streams, lets requests in flight finish
(at most ``grace`` seconds) and joins the thread. Uvicorn's own access log is off: it would write
query strings, and the request log here (``tickets.http``, debug level) writes routes only.

HTTP is parsed by httptools and the event loop is uvloop's (``uvicorn[standard]``): against h11
(pure Python) and asyncio's own loop, a polled dashboard answer costs the process about a quarter
of the CPU (docs/performance.md). ``handle.loop`` is the server's event loop, for work that
belongs beside the requests (``ReadFollower.start_on``).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass

import structlog
import uvicorn
from fastapi import FastAPI

from tickets.engine import Engine
from tickets.http.app import create_app
from tickets.http.context import HttpContext, make_context
from tickets.http.page_pool import close_pool

log = structlog.get_logger("tickets.http")


class _Server(uvicorn.Server):
    """uvicorn's server, keeping the event loop it runs on."""

    loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().startup(sockets)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await super().shutdown(sockets)
        state = getattr(self.config.app, "state", None)
        if state is not None:
            await close_pool(state)


@dataclass
class HttpHandle:
    server: _Server
    thread: threading.Thread
    host: str
    port: int
    closing: threading.Event

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        loop = self.server.loop
        if loop is None:
            raise RuntimeError("the HTTP server has not started")
        return loop

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self, timeout: float = 10.0) -> None:
        self.closing.set()
        self.server.should_exit = True
        self.thread.join(timeout)
        log.info("http_stopped", host=self.host, port=self.port, clean=not self.thread.is_alive())


def start_http(app: FastAPI, host: str = "127.0.0.1", port: int = 8080, *, grace: float = 3.0,
               ready_timeout: float = 10.0) -> HttpHandle:
    # IPPROTO_TCP named explicitly: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on
    # sockets that say they are TCP, and a response written as headers then body would otherwise
    # wait for the client's delayed ACK, about 40 ms per request on a kept-alive connection.
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM,
                         socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = int(sock.getsockname()[1])
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off",
                            timeout_graceful_shutdown=int(grace) or 1, server_header=False,
                            loop="uvloop", http="httptools")
    server = _Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="http",
                              daemon=True)
    ctx: HttpContext | None = getattr(app.state, "ctx", None)
    closing = ctx.closing if ctx is not None else threading.Event()
    thread.start()
    deadline = time.monotonic() + ready_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the HTTP server did not start on {host}:{bound_port}")
        time.sleep(0.01)
    log.info("http_started", host=host, port=bound_port)
    return HttpHandle(server, thread, host, bound_port, closing)


def serve_engine(engine: Engine, host: str = "127.0.0.1", port: int = 8080) -> HttpHandle:
    """The HTTP app over an engine's desk, read models and clock, served in a thread."""
    return start_http(create_app(make_context(engine.desk, engine.store, engine.clock)), host, port)
