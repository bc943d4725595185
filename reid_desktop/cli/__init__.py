"""`reid`: headless commands. No Qt; the GUI is `reid-desktop`."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from reid_desktop.version import version_text

from .common import run_command
from .encoder_commands import add_encoder_commands
from .project_commands import add_project_commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reid", description="reid-desktop headless commands")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    parser.add_argument("--version", action="version", version=version_text("reid"))
    sub = parser.add_subparsers(dest="command", required=True)
    add_project_commands(sub)
    add_encoder_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    return run_command(args)


if __name__ == "__main__":
    sys.exit(main())
