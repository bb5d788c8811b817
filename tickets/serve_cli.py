"""``tickets serve`` on the command line: start a replica, stop on SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import threading
from typing import Any

from tickets.collector import freeze_startup_objects
from tickets.config import Settings
from tickets.domain.errors import ValidationError
from tickets.engine import install_stop_signals
from tickets.logs import configure_logging


def cmd_serve(args: argparse.Namespace, settings: Settings) -> Any:
    from tickets.serve import require_shared_read_models, serve

    require_shared_read_models(settings)
    configure_logging(settings.log_format)
    stop = threading.Event()
    restore = install_stop_signals(stop)
    try:
        try:
            served = serve(settings, host=args.http_host, port=args.http_port, group=args.group,
                           read_wait=args.read_wait)
        except OSError as error:
            raise ValidationError(f"cannot listen on {args.http_host}:{args.http_port}: "
                                  f"{error.strerror}", field="http_port", rule="free_port") from None
        freeze_startup_objects()
        try:
            stop.wait()
        finally:
            served.close()
    finally:
        restore()
    return None
