"""Start-up from the command line: the self-test, and one clear line (no traceback) for what cannot start."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from terminal.store.database import open_database

OFFSCREEN_NOTES = {"This plugin does not support propagateSizeHints()"}


def terminal(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(
        [sys.executable, "-m", "terminal.app", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def one_clear_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    # Qt's screenless test platform says it once the window shows; it is not the terminal's output.
    lines = [line for line in result.stderr.splitlines() if line.strip() and line not in OFFSCREEN_NOTES]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_self_test_twice_on_one_data_dir_keeps_history(tmp_path: Path) -> None:
    for expected in (1, 2):
        result = terminal("--self-test", "--data-dir", str(tmp_path))
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"({expected} in History)" in result.stdout


def test_data_dir_that_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    line = one_clear_line(terminal("--data-dir", str(blocker / "data")))
    assert str(blocker) in line


def test_database_in_use_by_another_terminal(tmp_path: Path) -> None:
    held = open_database(tmp_path)
    try:
        line = one_clear_line(terminal("--data-dir", str(tmp_path)))
        assert "in use" in line
    finally:
        held.close()


def test_simulator_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = one_clear_line(terminal("sim", "--port", str(port), timeout=30))
        assert str(port) in line
        line = one_clear_line(terminal("--data-dir", str(tmp_path), "--sim-port", str(port), timeout=30))
        assert str(port) in line


def test_sim_command_prints_name_and_url_then_serves() -> None:
    env = {**os.environ}
    with subprocess.Popen(
        [sys.executable, "-m", "terminal.app", "sim"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            urls = {}
            while "ogopay" not in urls:  # one line per simulator, in the registry's order
                name, url = proc.stdout.readline().split()
                urls[name] = url
                assert url.startswith("http://127.0.0.1:")
            url = urls["ogopay"]
            assert httpx.get(url + "/version", timeout=5).json() == {"name": "OGO Pay", "version": "2.0.0"}
        finally:
            proc.terminate()
            proc.wait(timeout=10)
