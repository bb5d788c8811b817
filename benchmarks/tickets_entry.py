"""``tickets ARGS`` as the console script runs it, for ``bench_cli.py``.

``--without-rich`` first makes ``import rich`` fail, as it does where rich is not installed.
"""

from __future__ import annotations

import sys

if sys.argv[1:2] == ["--without-rich"]:
    sys.modules["rich"] = None  # type: ignore[assignment]
    del sys.argv[1]

from tickets.cli import main  # after the switch above, on purpose

sys.exit(main())
