"""`python -m reid_desktop.cli`: the same as `reid`."""

import sys

from reid_desktop.cli import main

sys.exit(main())
