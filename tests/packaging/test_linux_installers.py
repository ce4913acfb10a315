"""The Linux installers: what the bundle leaves out, and (once built) the .deb and .tar.gz self-tested.

The installer check itself is packaging/linux/check.sh, which .ci/run runs after building. This test
runs it too when installers are there: MERCHANT_TERMINAL_INSTALLERS=DIR names them (the test then
fails if they are missing), or build/installers/ holds a .deb and a .tar.gz from packaging/linux/build.sh.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "packaging"))

from bundle_filter import keep_binary, keep_data  # noqa: E402


def test_bundle_keeps_what_the_terminal_loads() -> None:
    for dest in (
        "terminal/resources/terminal.qss",
        "terminal/store/migrations/versions/0001_initial.py",
        "babel/locale-data/en_GB.dat",
        "babel/locale-data/root.dat",
        "babel/global.dat",
        "PySide6/Qt/resources/qtwebengine_resources.pak",
        "PySide6/Qt/resources/icudtl.dat",
        "PySide6/Qt/translations/qtwebengine_locales/en-US.pak",
        "merchant_terminal-0.1.0.dist-info/METADATA",
    ):
        assert keep_data(dest), dest
    for dest, source in (
        ("PySide6/Qt/lib/libQt6WebEngineCore.so.6", "/venv/PySide6/Qt/lib/libQt6WebEngineCore.so.6"),
        ("PySide6/Qt/libexec/QtWebEngineProcess", "/venv/PySide6/Qt/libexec/QtWebEngineProcess"),
        ("PySide6/Qt/plugins/platforms/libqxcb.so", "/venv/PySide6/Qt/plugins/platforms/libqxcb.so"),
        ("PySide6/Qt/plugins/platforms/libqoffscreen.so", "/venv/x/libqoffscreen.so"),
        ("libssl.so.3", "/lib/x86_64-linux-gnu/libssl.so.3"),
        ("libpython3.11.so.1.0", "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"),
    ):
        assert keep_binary(dest, source, "linux"), dest


def test_bundle_leaves_out_what_it_never_loads() -> None:
    for dest in (
        "PySide6/Qt/translations/qt_de.qm",
        "PySide6/Qt/translations/qtwebengine_locales/ja.pak",
        "PySide6/Qt/resources/qtwebengine_devtools_resources.pak",
        "babel/locale-data/ja_JP.dat",
    ):
        assert not keep_data(dest), dest
    for dest in (
        "PySide6/Qt/plugins/platformthemes/libqgtk3.so",
        "PySide6/Qt/plugins/printsupport/libcupsprintersupport.so",
        "PySide6/Qt/lib/libQt6Pdf.so.6",
    ):
        assert not keep_binary(dest, "/venv/" + dest, "linux"), dest
    # A distribution library comes from the system on Linux (the .deb depends on it), not elsewhere.
    assert not keep_binary("libnss3.so", "/usr/lib/x86_64-linux-gnu/libnss3.so", "linux")
    assert keep_binary("libnss3.so", "/usr/lib/libnss3.so", "darwin")


def _installers() -> Path | None:
    named = os.environ.get("MERCHANT_TERMINAL_INSTALLERS")
    if named:
        return Path(named)
    built = ROOT / "build" / "installers"
    if any(built.glob("merchant-terminal_*.deb")) and any(built.glob("merchant-terminal-*.tar.gz")):
        return built
    return None


@pytest.mark.timeout(900)
def test_linux_installers_self_test_from_scratch_install() -> None:
    installers = _installers()
    if installers is None:
        pytest.skip("no installers built (bash packaging/linux/build.sh, or MERCHANT_TERMINAL_INSTALLERS)")
    if not sys.platform.startswith("linux") or shutil.which("dpkg-deb") is None:
        pytest.skip("the Linux installer check needs Linux with dpkg-deb")
    result = subprocess.run(
        ["bash", str(ROOT / "packaging" / "linux" / "check.sh"), str(installers)],
        capture_output=True,
        text=True,
        timeout=840,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "check: deb: self-test OK" in result.stdout
    assert "check: tar.gz: self-test OK" in result.stdout
