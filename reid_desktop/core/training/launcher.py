"""How the app starts `reid-train`: the trainer installed with this copy of the app, never one
that happens to be first on PATH (an older install, another user's virtualenv)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

TRAINER = "reid-train"


def bundled_trainer(executable: str | os.PathLike[str]) -> Path:
    """Where an installed bundle keeps reid-train: beside the program that is running (the
    one-folder bundle's top folder, or Contents/MacOS in the macOS app)."""
    suffix = ".exe" if os.name == "nt" else ""
    return Path(executable).resolve().with_name(TRAINER + suffix)


def trainer_command() -> list[str] | None:
    """The command line that runs the trainer, or None when this copy has none: a frozen bundle
    runs the reid-train beside it; from Python, this interpreter runs `-m trainer.cli` when
    PyTorch is installed (the `train` extra)."""
    if getattr(sys, "frozen", False):
        exe = bundled_trainer(sys.executable)
        return [str(exe)] if exe.is_file() else None
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("trainer") is None:
        return None
    return [sys.executable, "-m", "trainer.cli"]


def trainer_missing_reason() -> str:
    """What to tell the operator when `trainer_command()` is None, for this kind of install."""
    if getattr(sys, "frozen", False):
        return (
            f"The trainer ({bundled_trainer(sys.executable)}) is missing from this installation; "
            "reinstall reid-desktop to fine-tune."
        )
    return (
        "PyTorch is not installed with this copy of reid-desktop: install “reid-desktop[train]” to fine-tune."
    )
