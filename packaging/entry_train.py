"""PyInstaller entry point for `reid-train`, the trainer the app starts for fine-tuning."""

import multiprocessing
import sys

from trainer.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen program re-runs itself for any spawned worker
    sys.exit(main())
