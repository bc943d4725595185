"""PyInstaller entry point for the GUI."""

import sys

from reid_desktop.ui.shell.app import main

sys.exit(main())
