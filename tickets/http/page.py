"""The dashboard page: static HTML, JavaScript and CSS from ``static/``, no build step.

The page itself needs no token (it holds no data); it asks for one, keeps it in the browser's
localStorage, and sends it with every API call.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

STATIC = Path(__file__).resolve().parent / "static"
router = APIRouter(tags=["page"])


@router.get("/", include_in_schema=False)
def page() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html",
                        headers={"Cache-Control": "no-cache"})
