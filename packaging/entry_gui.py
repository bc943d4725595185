"""PyInstaller entry point for the GUI."""

import sys

from reid_desktop.ui.app import main

sys.exit(main())
