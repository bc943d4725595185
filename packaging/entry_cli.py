"""PyInstaller entry point for the headless `reid` command."""

import sys

from reid_desktop.cli import main

sys.exit(main())
