"""The CLI's edges: values that were taken though wrong, and errors that were tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tickets import cli
from tickets.application.policy_files import shipped_policies

UNDECODABLE = b"bad\xffbyte".decode("utf-8", "surrogateescape")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for variable in ("TICKETS_DATABASE_URL", "TICKETS_READ_MODEL_URL", "KAFKA_BOOTSTRAP_SERVERS",
                     "TICKETS_POLICY_DIRS", "TICKETS_DEBUG"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("TICKETS_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(argv))
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def refusal(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, str]:
    code, _, err = run(capsys, *argv, "--json")
    assert code == 1, err
    found: dict[str, str] = json.loads(err)
    return found


@pytest.mark.parametrize("site", ["123", "abcd", "12345", "12 34"])
def test_a_site_id_must_follow_the_desks_rule(home: Path, capsys: pytest.CaptureFixture[str],
                                              site: str) -> None:
    for action in ("add", "remove", "list"):
        error = refusal(capsys, "editors", action, "--desk", "web", "--site", site, "--editor", "ed-1")
        assert (error["field"], error["rule"]) == ("site_id", "format")
        assert "4 digits" in error["message"]  # the description in the desk's file
    code, out, _ = run(capsys, "editors", "add", "--desk", "web", "--site", "1234", "--editor", "ed-1")
    assert code == 0 and out.strip() == "ed-1"


def test_the_site_id_rule_comes_from_the_desk_file(home: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    policies = tmp_path / "policies"
    policies.mkdir()
    web = shipped_policies().joinpath("web.toml").read_text(encoding="utf-8")
    intranet = (web.replace('id = "web"', 'id = "intranet"').replace('"WEB"', '"INT"')
                .replace("[0-9]{4}", "[0-9]{6}").replace("4 digits", "6 digits"))
    assert intranet != web
    (policies / "intranet.toml").write_text(intranet, encoding="utf-8")
    monkeypatch.setenv("TICKETS_POLICY_DIRS", str(policies))
    assert run(capsys, "editors", "add", "--desk", "intranet", "--site", "123456", "--editor", "e")[0] == 0
    error = refusal(capsys, "editors", "add", "--desk", "intranet", "--site", "1234", "--editor", "e")
    assert error["rule"] == "format" and "6 digits" in error["message"]


def test_editors_of_an_unknown_desk_or_a_desk_without_a_registry_are_refused(
    home: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    error = refusal(capsys, "editors", "list", "--desk", "nosuch", "--site", "1234")
    assert (error["field"], error["rule"]) == ("desk", "known_desk") and "nosuch" in error["message"]
    error = refusal(capsys, "editors", "list", "--desk", "o365", "--site", "1234")
    assert error["rule"] == "has_editor_registry"


@pytest.mark.parametrize("action", ["add", "remove"])
def test_adding_or_removing_an_editor_needs_the_editor(home: Path, capsys: pytest.CaptureFixture[str],
                                                       action: str) -> None:
    error = refusal(capsys, "editors", action, "--desk", "web", "--site", "1234")
    assert (error["field"], error["rule"]) == ("editor", "required")


@pytest.mark.parametrize(("argv", "option"), [
    (["open", "--desk", "web", "--requester", "r", "--role", "editor", "--title", "t", "--at", ""], "--at"),
    (["respond", "WEB-AAAAAA", "--at", " "], "--at"),
    (["show", "WEB-AAAAAA", "--now", ""], "--now"),
    (["replay", "as-of", "WEB-AAAAAA", "--at", ""], "--at"),
    (["replay", "rebuild", "--batch", "0"], "--batch"),
    (["replay", "rebuild", "--parts", "0"], "--parts"),
    (["demo", "--tickets", "-5"], "--tickets"),
    (["demo", "--tickets", "0"], "--tickets"),
    (["demo", "--step", "0"], "--step"),
    (["run", "--http-port", "99999"], "--http-port"),
    (["run", "--http-port", "0"], "--http-port"),
    (["list", "--desk", UNDECODABLE], "--desk"),
])
def test_values_once_taken_though_wrong_are_refused_before_anything_runs(
    home: Path, capsys: pytest.CaptureFixture[str], argv: list[str], option: str,
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.strip().splitlines()[-1].split(": error: ")[1].startswith(f"argument {option}: ")
    assert not home.exists()  # refused before any store was opened


@pytest.mark.parametrize(("home_option", "rule"), [("/etc/passwd", "directory"),
                                                   ("/etc/passwd/below", "directory"),
                                                   ("/proc/nonexistent/x", "")])
def test_a_home_that_cannot_be_a_directory_is_named(
    home: Path, capsys: pytest.CaptureFixture[str], home_option: str, rule: str,
) -> None:
    error = refusal(capsys, "list", "--home", home_option)
    assert error["field"] == "--home" and rule in error["rule"]
    assert error["message"].startswith("--home: ")


def test_an_unexpected_error_is_one_line_unless_debugging(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(args: object, settings: object) -> None:
        raise RuntimeError("a bug\nover two lines")

    monkeypatch.setitem(cli._COMMANDS, "list", broken)
    code, _, err = run(capsys, "list")
    assert code == 1
    assert err == "error: unexpected RuntimeError: a bug over two lines (set TICKETS_DEBUG=1 to see " \
                  "the traceback) (rule=unexpected)\n"
    monkeypatch.setenv("TICKETS_DEBUG", "1")
    with pytest.raises(RuntimeError, match="a bug"):
        cli.main(["list"])


def test_an_os_error_is_one_line_naming_the_path(home: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    def unreadable(args: object, settings: object) -> None:
        raise PermissionError(13, "Permission denied", "/srv/tickets/events.sqlite3")

    monkeypatch.setitem(cli._COMMANDS, "list", unreadable)
    code, _, err = run(capsys, "list")
    assert code == 1 and err.startswith("error: Permission denied (/srv/tickets/events.sqlite3)")


# ---- end to end, as a shell runs it ---------------------------------------------------------------

def tickets(*argv: str | bytes, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "tickets.cli", *argv], env=env, capture_output=True,
                          timeout=60, check=False)


def test_undecodable_bytes_and_bad_settings_from_a_shell_get_one_line(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "TICKETS_HOME": str(tmp_path / "home"), "LC_ALL": "C.UTF-8"}
    cases = [
        (tickets("open", "--desk", "web", "--requester", "r", "--role", "editor",
                 "--title", b"bad\xffbyte", env=env), 2, b"argument --title: must be valid UTF-8 text"),
        (tickets("list", env={**env, "TICKETS_KAFKA_SESSION_TIMEOUT_MS": "abc"}), 1,
         b"error: TICKETS_KAFKA_SESSION_TIMEOUT_MS: must be a whole number"),
        (tickets("list", env={**env, "TICKETS_HOME": "/etc/passwd"}), 1, b"error: TICKETS_HOME: "),
        (tickets("list", env={**env, "TICKETS_SQLITE_SYNCHRONOUS": b"N\xffORMAL".decode(
            "utf-8", "surrogateescape")}), 1, b"error: TICKETS_SQLITE_SYNCHRONOUS: must be valid"),
    ]
    for result, code, start in cases:
        assert b"Traceback" not in result.stderr
        assert result.returncode == code, result.stderr
        assert start in result.stderr.strip().splitlines()[-1], result.stderr
