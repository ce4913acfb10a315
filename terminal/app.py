"""The command line: `merchant-terminal`.

merchant-terminal [--data-dir DIR] [--sim-port N]   open the terminal (SANDBOX when nothing is configured)
merchant-terminal --self-test                        build the window, run one sandbox charge, exit 0 or 1
merchant-terminal sim [--port N]                     run the simulators alone and print their URLs

The main window shows first and the store opens behind it (`terminal.ui.startup`): this module imports
nothing heavy, and `open_services` (the log, the database, the profiles, the services:
`terminal.assembly`) runs on a worker thread once the window has painted.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from terminal import __version__

if TYPE_CHECKING:
    from terminal.assembly import Services

# Flags that would open QtWebEngine's remote debugging port: never in a payment terminal (WEB-5).
_DEBUG_ENV = ("QTWEBENGINE_REMOTE_DEBUGGING",)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="merchant-terminal", description="Merchant Terminal " + __version__)
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument("--data-dir", type=Path, help="where the database, settings and logs live")
    parser.add_argument("--sim-port", type=int, default=0, help="first port for the sandbox simulators")
    parser.add_argument("--self-test", action="store_true", help="run one sandbox charge offscreen and exit")
    sub = parser.add_subparsers(dest="command")
    sim = sub.add_parser("sim", help="run the gateway simulators alone")
    sim.add_argument("--port", type=int, default=0, help="first port (then +1 per simulator)")
    return parser.parse_args(argv)


def _prepare_environment(self_test: bool) -> None:
    for name in _DEBUG_ENV:
        os.environ.pop(name, None)
    flags = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "")
    if "remote-debugging" in flags:
        os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = " ".join(
            f for f in flags.split() if "remote-debugging" not in f
        )
    if self_test:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # Chromium refuses to start its sandbox as root (containers, CI); a desktop user is never root.
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")


def open_services(args: argparse.Namespace, *, sign_in_as: str | None = None) -> Services:
    """Set up the log, open the store and build the services for the window (run on a worker thread once
    the window has painted).

    The GUI starts signed out (the sign-in screen); the self-test signs in as the demo clerk. What keeps the
    terminal from starting is raised as `CannotStart`, with its one-line reason.
    """
    from terminal.assembly import StartupError, build_services
    from terminal.services.logs import configure_logging
    from terminal.services.profiles import ProfileError
    from terminal.store.location import default_data_dir
    from terminal.ui.startup import CannotStart

    data_dir = args.data_dir or default_data_dir()
    if args.self_test and args.data_dir is None:
        # A self-test on an installed build never writes sandbox payments into the shop's real history.
        import tempfile

        data_dir = Path(tempfile.mkdtemp(prefix="merchant-terminal-self-test-"))
    try:
        configure_logging(data_dir / "logs")
    except OSError as exc:
        raise CannotStart(f"data directory {data_dir} cannot be used: {exc.strerror or exc}") from None
    try:
        return build_services(
            data_dir,
            sim_port=args.sim_port,
            force_sandbox=args.self_test,
            sign_in_as="demo-clerk" if args.self_test else sign_in_as,
            defer_sims=True,
        )
    except (StartupError, ProfileError) as exc:
        raise CannotStart(str(exc)) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `merchant-terminal` command."""
    args = _parse(argv)
    if args.command == "sim":
        from terminal.sim.runner import run_forever

        try:
            run_forever(args.port)
        except OSError as exc:
            print(f"merchant-terminal sim: {exc}", file=sys.stderr)
            return 2
        return 0
    _prepare_environment(args.self_test)
    # No garbage collection until the services are up (terminal.ui.startup.freeze_startup_heap says why).
    gc.disable()
    from terminal.ui.startup import CannotStart, run_gui  # Qt is loaded only when a window is wanted

    try:
        return run_gui(lambda: open_services(args), self_test=args.self_test)
    except CannotStart as exc:
        print(f"merchant-terminal: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
