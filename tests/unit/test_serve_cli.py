"""``tickets serve`` refuses what it cannot serve, in one line naming the setting, before it starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tickets import cli


@pytest.mark.parametrize("url", ["sqlite:///{home}/read.sqlite3", None])
def test_serve_refuses_read_models_that_are_not_the_groups_postgresql(
    url: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TICKETS_HOME", str(tmp_path))
    monkeypatch.delenv("TICKETS_DATABASE_URL", raising=False)
    if url is None:
        monkeypatch.delenv("TICKETS_READ_MODEL_URL", raising=False)  # the default: a SQLite file
    else:
        monkeypatch.setenv("TICKETS_READ_MODEL_URL", url.format(home=tmp_path))
    assert cli.main(["serve", "--http-port", "1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "TICKETS_READ_MODEL_URL" in err[0] and "rule=postgresql" in err[0]
    assert "Traceback" not in err[0]
