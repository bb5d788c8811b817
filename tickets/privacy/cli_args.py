"""The command lines of ``tickets privacy`` (their handlers are in ``tickets.privacy.cli``)."""

from __future__ import annotations

from tickets.cli_lazy import AddParser, Handlers, lazy
from tickets.cli_types import add_subcommands


def add_privacy_commands(add: AddParser, commands: Handlers) -> None:
    commands.update(lazy("tickets.privacy.cli", privacy="cmd_privacy"))
    group = add("privacy", "personal data: erase a requester's, migrate an old store (docs/privacy.md)")
    tool = add_subcommands(group, "privacy", "ACTION")
    p = tool("erase", "destroy a requester's key: their personal data reads [erased] everywhere")
    p.add_argument("--requester", required=True, help="the requester's pseudonymous id")
    p.add_argument("--basis", required=True,
                   help="why, e.g. 'GDPR art. 17 request of 2026-11-20' (recorded; no personal data)")
    p.add_argument("--asked-by", default="system:privacy",
                   help="role:id of whoever asked (recorded; default system:privacy)")
    tool("retention", "erase now what the desks' retention periods say is due")
    p = tool("migrate", "copy an event store into a new one with its personal fields sealed")
    p.add_argument("--from", dest="source", required=True,
                   help="the old store: sqlite:///FILE or postgresql://... (left untouched)")
    p.add_argument("--to", dest="target", required=True,
                   help="the new, empty store: sqlite:///FILE or postgresql://...")
