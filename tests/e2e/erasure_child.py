"""A process that destroys a requester's key and is killed before it records the erasure.

``python -m tests.e2e.erasure_child HOME REQUESTER``: runs the first step of an erasure
(``KeyTable.begin_erasure``), says ``destroyed`` and waits to be killed.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

from tickets.config import load_settings
from tickets.privacy.keys import KeyTable
from tickets.wiring import build_desk


def main(home: str, requester: str) -> None:
    desk = build_desk(load_settings({}, home=home))
    assert isinstance(desk.personal, KeyTable)
    desk.personal.begin_erasure(requester, "auditor:dpo", "GDPR art. 17 (interrupted)",
                                datetime.now(UTC))
    print("destroyed", flush=True)
    time.sleep(120)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
