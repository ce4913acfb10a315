"""UI test setup: Qt without a screen, and QtWebEngine loaded before any QApplication exists.

The environment is set here at import time, before any Qt import, so this directory also runs on its
own. pytest-qt provides ``qapp`` and ``qtbot``; the session's qasync loop (``qloop``, driven through a
local QEventLoop so that QtWebEngine survives many runs) comes from tests/conftest.py.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu --disable-background-networking")

# QtWebEngine must be imported before the QApplication is created (it shares OpenGL contexts).
from PySide6 import QtWebEngineWidgets  # noqa: F401
