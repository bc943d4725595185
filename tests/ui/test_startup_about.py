"""What the operator sees at start and in Help → About: a broken default encoder is said at once,
About names the version, where encoders run, the trainer and the licences; and
`reid-desktop --smoke-test` (what `make package-test` runs on the installed app) reports what the
Review tab shows, then quits with status 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from helpers.onnx_factory import tiny_encoder
from PySide6.QtWidgets import QMessageBox

from reid_desktop import __version__
from reid_desktop.core.encoders import defaults
from reid_desktop.core.encoders.embed import embed_project
from reid_desktop.core.encoders.registry import open_encoder, register_encoder
from reid_desktop.core.ingest.scan import ingest
from reid_desktop.core.jobs import run_job
from reid_desktop.store import Project
from reid_desktop.ui.shell.startup_checks import check_default_encoder


def _boxes(window, name: str) -> list[QMessageBox]:
    return [b for b in window.findChildren(QMessageBox) if b.objectName() == name and b.isVisible()]


def test_a_damaged_default_encoder_is_said_at_start(qtbot, window, tmp_path, monkeypatch):
    broken = tmp_path / "default-mnv2.onnx"
    broken.write_bytes(b"\x00" * 1000)
    monkeypatch.setattr(defaults, "default_encoder_path", lambda: broken)
    handle = check_default_encoder(window)
    qtbot.waitUntil(lambda: not handle.running and bool(_boxes(window, "errorBox")), timeout=20_000)
    box = _boxes(window, "errorBox")[0]
    assert box.windowTitle() == "The default encoder cannot be used"
    assert str(broken) in box.text() and "Reinstall reid-desktop" in box.text()


def test_a_usable_default_encoder_says_nothing(qtbot, window):
    handle = check_default_encoder(window)
    qtbot.waitUntil(lambda: not handle.running, timeout=20_000)
    qtbot.wait(50)  # the finished signal has been delivered
    assert not _boxes(window, "errorBox")


def test_about_names_version_providers_trainer_and_licences(qtbot, window):
    window.act_about.trigger()
    box = _boxes(window, "aboutBox")[0]
    text = box.text()
    assert f"reid-desktop {__version__}" in text
    assert "CPU" in text  # onnxruntime's CPU provider is always there
    assert "trainer.cli" in text  # from Python: this interpreter runs the trainer
    assert "LGPL-3.0" in text and "LICENSE-default-encoder.txt" in text
    box.close()


def _embedded_project(tmp_path: Path, two_cameras: list[Path]) -> Path:
    path = tmp_path / "smoke.reidproj"
    with Project.create(path) as p:
        run_job(ingest(p, [str(c) for c in two_cameras], "auto"))
        encoder = register_encoder(p, tiny_encoder(tmp_path / "tiny.onnx"), "tiny")
        run_job(embed_project(p, encoder.id, open_encoder(encoder)))
    return path


def test_smoke_test_opens_review_reports_and_quits(tmp_path, two_cameras):
    project = _embedded_project(tmp_path, two_cameras)
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), QT_QPA_PLATFORM="offscreen")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "reid_desktop.ui.shell.app",
            "--smoke-test",
            "--smoke-timeout",
            "120",
            str(project),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [e["event"] for e in events] == ["window", "done"]
    assert events[1]["tab"] == "Review" and events[1]["review"] == "pair", events[1]
    assert events[1]["messages"] == []
