"""Entry point of the `reid-desktop` GUI."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from reid_desktop import __version__
from reid_desktop.resources import resource


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reid-desktop", description="reid-desktop workstation")
    parser.add_argument("project", nargs="?", help="a .reidproj file to open")
    parser.add_argument("-v", "--verbose", action="store_true")
    args, qt_args = parser.parse_known_args(argv if argv is not None else sys.argv[1:])
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

    install_excepthook()
    window = MainWindow()
    window.show()
    if args.project:
        path = Path(args.project)
        if path.exists():
            window.open_project(path)
        else:
            window.create_project(path)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
