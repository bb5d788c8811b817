"""Who opens tickets in the demo: one profile per seed desk, with its plans, roles and fields.

Everything is drawn from a ``random.Random`` the caller seeds, so the same seed opens the same
tickets. Contact details are invented and obviously fake (example domains, 555 numbers).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

#: Share of tickets per desk (the demo's mix; any numbers would do).
DESK_WEIGHTS = {"o365": 0.2, "vianet": 0.15, "web": 0.2, "zoom": 0.25, "nl-vendor": 0.2}
WEB_SITES = tuple(f"{1000 + 17 * i:04d}" for i in range(8))
TITLES = (
    "Cannot sign in", "Export stops halfway", "Meeting recordings missing", "Mail delayed",
    "Page shows an error", "Licence not applied", "Invoice question", "Slow search",
    "Calendar does not sync", "Upload fails", "Audio drops in meetings", "Password reset loops",
)


@dataclass(frozen=True)
class Opening:
    """What one ticket is opened with."""

    desk: str
    plan: str
    category: str
    severity: str
    role: str
    requester: str
    title: str
    fields: dict[str, str] = field(default_factory=dict)


def web_editors(sites: tuple[str, ...] = WEB_SITES) -> list[tuple[str, str]]:
    """(site, editor) pairs registered before the week starts: one to three editors per site."""
    pairs = []
    for i, site in enumerate(sites):
        for j in range(1 + i % 3):
            pairs.append((site, f"ed-{site}-{j}"))
    return pairs


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    names = list(weights)
    return rng.choices(names, weights=[weights[n] for n in names])[0]


def opening(rng: random.Random, index: int) -> Opening:
    desk = _pick(rng, DESK_WEIGHTS)
    title = rng.choice(TITLES)
    if desk == "o365":
        plan = _pick(rng, {"enterprise": 0.6, "elevated": 0.4})
        return Opening(desk, plan, "general", _pick(rng, {"A": 0.1, "B": 0.4, "C": 0.5}), "admin",
                       f"adm-{index}", title)
    if desk == "vianet":
        plan = _pick(rng, {"standard": 0.75, "special-agreement": 0.25})
        category = _pick(rng, {"technical": 0.6, "billing": 0.25, "presales": 0.15})
        weights = {"A": 0.1, "B": 0.4, "C": 0.5} if plan == "special-agreement" else {"B": 0.4, "C": 0.6}
        severity = _pick(rng, weights)
        if category in ("billing", "presales") and severity == "A":
            severity = "B"  # billing, subscription and presales cases are at most severity B
        return Opening(desk, plan, category, severity, "admin", f"adm-{index}", title)
    if desk == "web":
        site, editor = rng.choice(web_editors())
        n = rng.randrange(100, 999)
        fields = {
            "site_id": site, "contact_name": f"Editor {n}", "contact_phone": f"+32 2 555 0{n}",
            "contact_email": f"editor{n}@example.be", "error_message": f"Error {rng.randrange(400, 600)}",
            "url": f"https://site{site}.example.be/page/{n}",
        }
        return Opening(desk, "standard", "general", "normal", "editor", editor, title, fields)
    if desk == "zoom":
        plan = _pick(rng, {"access": 0.3, "premier": 0.35, "premier-plus": 0.35})
        severity = _pick(rng, {"P1": 0.1, "P2": 0.3, "P3": 0.4, "P4": 0.2})
        role = _pick(rng, {"admin": 0.5, "licensed_member": 0.5})
        category = _pick(rng, {"technical": 0.85, "billing": 0.15})
        return Opening(desk, plan, category, severity, role, f"zm-{index}", title,
                       {"meeting_id": str(rng.randrange(10**9, 10**10))})
    severity = _pick(rng, {"high": 0.2, "normal": 0.6, "low": 0.2})
    return Opening(desk, "standard", "problem", severity, "user", f"usr-{index}", title,
                   {"product": rng.choice(("payroll", "planning", "invoicing"))})
