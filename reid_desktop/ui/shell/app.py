"""Entry point of the `reid-desktop` GUI."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from reid_desktop import __version__
from reid_desktop.resources import resource
from reid_desktop.version import version_text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reid-desktop", description="reid-desktop workstation")
    parser.add_argument("project", nargs="?", help="a .reidproj file to open")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--version", action="version", version=version_text("reid-desktop"))
    parser.add_argument(
        "--smoke-test",
        action="store_true",
        help="open the project on the Review tab, report what it shows as JSON lines, then quit",
    )
    parser.add_argument(
        "--smoke-timeout", type=float, default=300, metavar="S", help="give up the smoke test after S seconds"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    t0 = time.monotonic()
    args, qt_args = build_parser().parse_known_args(argv if argv is not None else sys.argv[1:])
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    app = QApplication.instance() or QApplication([sys.argv[0], *qt_args])
    app.setApplicationName("reid-desktop")
    app.setOrganizationName("reid-desktop")
    app.setApplicationVersion(__version__)
    icon = resource("icons", "reid-desktop.svg")
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))

    from reid_desktop.ui.common.messages import install_excepthook
    from reid_desktop.ui.shell.main_window import MainWindow
    from reid_desktop.ui.shell.startup_checks import check_default_encoder

    install_excepthook()
    window = MainWindow()
    window.show()
    checks = [check_default_encoder(window)]
    if args.project:
        path = Path(args.project)
        if path.exists():
            window.open_project(path)
        else:
            window.create_project(path)
    if args.smoke_test:
        from reid_desktop.ui.shell.smoke import SmokeTest

        project = Path(args.project) if args.project else None
        SmokeTest(window, project, args.smoke_timeout, checks, t0).start()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
