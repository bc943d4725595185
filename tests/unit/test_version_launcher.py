"""--version of the three programs, what a bundle says it is, how the app finds reid-train, and
the start-up check of the shipped default encoder."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from reid_desktop import __version__
from reid_desktop.core.encoders import defaults
from reid_desktop.core.training import launcher
from reid_desktop.version import licences_dir, version_text


def _version_of(main, capsys) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    return capsys.readouterr().out.strip()


def test_every_program_has_version(capsys):
    from reid_desktop.cli import main as reid
    from reid_desktop.ui.shell.app import main as gui
    from trainer.cli import main as train

    assert _version_of(reid, capsys).startswith(f"reid {__version__} (Python ")
    assert _version_of(train, capsys).startswith(f"reid-train {__version__} ")
    assert _version_of(gui, capsys).startswith(f"reid-desktop {__version__} ")  # before any QApplication


def test_version_matches_the_package_metadata():
    from importlib.metadata import version

    assert version("reid-desktop") == __version__  # pyproject reads it from reid_desktop/__init__.py


@pytest.fixture
def frozen(tmp_path, monkeypatch) -> Path:
    """A fake one-folder bundle: reid-desktop in its top folder, _internal/ as sys._MEIPASS."""
    top = tmp_path / "opt" / "reid-desktop"
    internal = top / "_internal"
    internal.mkdir(parents=True)
    (top / "reid-desktop").write_text("")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(internal), raising=False)
    monkeypatch.setattr(sys, "executable", str(top / "reid-desktop"))
    return top


def test_a_bundle_says_its_flavour_and_where_its_licences_are(frozen):
    internal = frozen / "_internal"
    assert licences_dir() is None
    (internal / "build-info.json").write_text(json.dumps({"flavour": "cuda", "built": "2026-12-01"}))
    (internal / "licenses").mkdir()
    assert version_text("reid") == f"reid {__version__} (cuda bundle, built 2026-12-01)"
    assert licences_dir() == internal / "licenses"


def test_a_bundle_runs_its_own_trainer_never_one_on_path(frozen, tmp_path, monkeypatch):
    elsewhere = tmp_path / "bin"
    elsewhere.mkdir()
    (elsewhere / "reid-train").write_text("#!/bin/sh\n")
    (elsewhere / "reid-train").chmod(0o755)
    monkeypatch.setenv("PATH", f"{elsewhere}{os.pathsep}{os.environ['PATH']}")
    assert launcher.trainer_command() is None  # not beside the app: not installed, whatever PATH says
    assert str(frozen / "reid-train") in launcher.trainer_missing_reason()
    assert "reinstall" in launcher.trainer_missing_reason()
    (frozen / "reid-train").write_text("")
    assert launcher.trainer_command() == [str(frozen / "reid-train")]


def test_a_bundle_started_through_a_link_finds_its_trainer(frozen, tmp_path, monkeypatch):
    (frozen / "reid-train").write_text("")
    usr_bin = tmp_path / "usr" / "bin"
    usr_bin.mkdir(parents=True)
    (usr_bin / "reid-desktop").symlink_to(frozen / "reid-desktop")  # as the .deb installs it
    monkeypatch.setattr(sys, "executable", str(usr_bin / "reid-desktop"))
    assert launcher.trainer_command() == [str(frozen / "reid-train")]


def test_from_python_the_trainer_is_this_interpreter_when_torch_is_installed(monkeypatch):
    assert launcher.trainer_command() == [sys.executable, "-m", "trainer.cli"]
    real = launcher.importlib.util.find_spec
    monkeypatch.setattr(launcher.importlib.util, "find_spec", lambda n: None if n == "torch" else real(n))
    assert launcher.trainer_command() is None
    assert "reid-desktop[train]" in launcher.trainer_missing_reason()


def test_the_shipped_default_encoder_loads():
    assert defaults.default_encoder_problem() is None


@pytest.mark.parametrize(
    "content, reason",
    [(None, "is missing"), (b"", "cannot be used"), (b"not a model\n" * 50, "cannot be used")],
    ids=["missing", "empty", "garbage"],
)
def test_a_missing_or_corrupt_default_encoder_is_named_with_the_reason(
    tmp_path, monkeypatch, content, reason
):
    path = tmp_path / "models" / "default-mnv2.onnx"
    path.parent.mkdir()
    if content is not None:
        path.write_bytes(content)
    monkeypatch.setattr(defaults, "default_encoder_path", lambda: path)
    problem = defaults.default_encoder_problem()
    assert problem.startswith(f"the default encoder {path} {reason}")
    assert "\n" not in problem


def test_a_truncated_default_encoder_is_named(tmp_path, monkeypatch):
    path = tmp_path / "default-mnv2.onnx"
    data = defaults.default_encoder_path().read_bytes()
    path.write_bytes(data[: len(data) // 2])
    monkeypatch.setattr(defaults, "default_encoder_path", lambda: path)
    assert defaults.default_encoder_problem().startswith(f"the default encoder {path} cannot be used")
