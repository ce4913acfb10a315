"""What the one-folder build leaves out, and why (used by merchant-terminal.spec).

QtWebEngineCore alone is ~200 MB and Qt's ICU ~40 MB, so the 300 MB ceiling on the unpacked Linux
folder leaves room only for what the terminal really loads. Everything dropped here is something the
terminal never opens; `--self-test` on the frozen build (packaging/linux/check.sh) proves the rest works.
"""

from __future__ import annotations

from pathlib import PurePosixPath

# Qt modules the terminal never imports (it uses QtCore, QtGui, QtWidgets, QtWebEngineCore and
# QtWebEngineWidgets, which pull QtNetwork, QtPrintSupport and QtWebChannel), other Qt bindings qasync
# could reach for, and development tools.
# fmt: off
EXCLUDED_MODULES = [
    *(
        f"PySide6.{module}"
        for module in (
            "Qt3DAnimation", "Qt3DCore", "Qt3DExtras", "Qt3DInput", "Qt3DLogic", "Qt3DRender",
            "QtQuick3D", "QtMultimedia", "QtMultimediaWidgets", "QtSpatialAudio", "QtCharts",
            "QtDataVisualization", "QtGraphs", "QtGraphsWidgets", "QtBluetooth", "QtNfc", "QtSensors",
            "QtSerialPort", "QtSerialBus", "QtPdf", "QtPdfWidgets", "QtLocation", "QtTextToSpeech",
            "QtDesigner", "QtHelp", "QtUiTools", "QtSql", "QtTest", "QtRemoteObjects", "QtScxml",
            "QtStateMachine", "QtHttpServer", "QtWebSockets", "QtNetworkAuth", "QtAxContainer",
            "QtQuickControls2", "QtQuickWidgets", "QtWebEngineQuick", "QtSvgWidgets", "QtConcurrent",
            # QtWebEngineCore links the QtQml/QtQuick/QtPositioning *libraries* (kept, found by dependency
            # analysis), but the Python modules would make PyInstaller copy every QML plugin (~300 MB).
            "QtQml", "QtQuick", "QtPositioning", "QtOpenGL", "QtOpenGLWidgets", "QtDBus", "QtSvg", "QtXml",
        )
    ),
    "PyQt5", "PyQt6", "PySide2", "tkinter", "_tkinter",
    "pytest", "_pytest", "hypothesis", "mypy", "IPython", "pydoc_data",
]
# fmt: on

# Chromium's own strings (form validation, context menus) for the languages of the shops the gateways
# serve; any other system language falls back to en-US, which Chromium always loads.
WEBENGINE_LOCALES = {"en-US", "en-GB", "es", "es-419"}

# Babel locales kept: the terminal formats money in en_GB (domain/money.py `Money.display`, which falls
# back to en_GB for a locale it does not know); Spanish, Sinhala and Tamil for the shops the gateways serve.
# The whole of Babel's data is 32 MB, a tenth of the budget.
BABEL_LANGUAGES = {"root", "en", "es", "si", "ta"}

# Qt plugins that only bring libraries the terminal never uses: the GTK theme (needs GTK, absent on
# KDE and servers), CUPS printing, the PDF image format, the virtual keyboard, and the embedded-device
# platforms (EGLFS, framebuffer, VNC, Vulkan display). xcb, wayland, offscreen and minimal stay.
DROPPED_PLUGINS = {
    ("platformthemes", "libqgtk3"),
    ("printsupport", "libcupsprintersupport"),
    ("imageformats", "libqpdf"),
    ("platforminputcontexts", "libqtvirtualkeyboardplugin"),
    ("egldeviceintegrations", ""),
    ("platforms", "libqeglfs"),
    ("platforms", "libqminimalegl"),
    ("platforms", "libqlinuxfb"),
    ("platforms", "libqvnc"),
    ("platforms", "libqvkkhrdisplay"),
}
# ...and the Qt libraries only those plugins load (dependency analysis ran before the plugins were dropped).
DROPPED_QT_LIBRARIES = ("libQt6Pdf", "libQt6VirtualKeyboard", "libQt6EglFS", "libQt6EglFs")

# On Linux, libraries of the distribution itself (X11/xcb, NSS, fontconfig, GLib, D-Bus, ALSA...) come
# from the system, as the .deb's Depends says: they get the distribution's security updates (NSS checks
# certificates), and bundling them costs ~40 MB. Kept: what the Python runtime's own extension modules
# link (ssl, hashlib, sqlite3, ctypes, bz2, lzma, zlib, pyexpat, uuid), so Python itself never depends
# on which versions a system has.
# fmt: off
PYTHON_RUNTIME_LIBRARIES = (
    "libpython", "libssl.", "libcrypto.", "libsqlite3.", "libffi.", "libbz2.", "liblzma.", "libz.",
    "libexpat.", "libuuid.", "libmpdec.",
)
# fmt: on
SYSTEM_LIBRARY_DIRS = ("/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/")


def _parts(dest: str) -> tuple[str, ...]:
    return PurePosixPath(dest.replace("\\", "/")).parts


def keep_data(dest: str) -> bool:
    """True for a data file (its destination path inside the bundle) that the terminal needs."""
    parts = _parts(dest)
    name = parts[-1] if parts else ""
    if parts[:3] == ("PySide6", "Qt", "translations") or parts[:2] == ("PySide6", "translations"):
        if "qtwebengine_locales" in parts:
            return name.removesuffix(".pak") in WEBENGINE_LOCALES
        return False  # Qt's widget translations: the terminal installs no QTranslator, its UI is English
    if name == "qtwebengine_devtools_resources.pak":
        return False  # the developer tools are never opened; remote debugging is refused (WEB-5)
    if parts[:2] == ("babel", "locale-data"):
        return name.split(".")[0].split("_")[0] in BABEL_LANGUAGES
    return True


def keep_binary(dest: str, source: str, platform: str) -> bool:
    """True for a shared library or executable (destination in the bundle, source on disk) to ship."""
    parts = _parts(dest)
    name = parts[-1] if parts else ""
    if "plugins" in parts and len(parts) >= 2:
        group = parts[-2]
        for dropped_group, prefix in DROPPED_PLUGINS:
            if group == dropped_group and name.startswith(prefix):
                return False
    if name.startswith(DROPPED_QT_LIBRARIES):
        return False
    if platform.startswith("linux") and source.startswith(SYSTEM_LIBRARY_DIRS):
        return name.startswith(PYTHON_RUNTIME_LIBRARIES)
    return True
