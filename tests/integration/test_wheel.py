"""A normal (non-editable) install carries the default encoder: the wheel is built offline from a
copy of the sources in a temp dir, its file list checked, then it is installed into a temp
folder and that copy (not this checkout) resolves, loads and uses the encoder.

Takes a few seconds (the wheel holds the ~18 MB encoder and its checkpoint)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from reid_desktop.core.encoders.defaults import DEFAULT_NAME

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = {
    f"reid_desktop/_resources/models/{DEFAULT_NAME}.onnx",
    f"reid_desktop/_resources/models/{DEFAULT_NAME}.pt",  # reid-train --init default
    "reid_desktop/_resources/models/LICENSE-default-encoder.txt",
    "reid_desktop/_resources/icons/reid-desktop.svg",
}


def pip(*args: str, cwd: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            *args,
            "--no-deps",
            "--no-index",
            "--quiet",
            "--disable-pip-version-check",
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    if not (ROOT / "resources" / "models" / f"{DEFAULT_NAME}.onnx").is_file():
        pytest.skip("the default encoder is not built (make default-encoder)")
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "docs")
    for name in ("reid_desktop", "trainer", "resources"):
        shutil.copytree(ROOT / name, src / name, ignore=skip)
    out = tmp_path_factory.mktemp("wheel")
    # No build isolation: the venv's setuptools (the test extra) builds it, with no network.
    pip("wheel", "--no-build-isolation", "-w", str(out), str(src), cwd=src)
    [whl] = out.glob("reid_desktop-*.whl")
    return whl


def test_the_wheel_carries_the_default_encoder(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert names >= SHIPPED, SHIPPED - names
    assert not [n for n in names if n.startswith(("resources/", "tests/"))]
    assert "reid_desktop/resources.py" in names and "trainer/cli.py" in names


def test_an_installed_copy_finds_and_uses_the_default_encoder(wheel: Path, tmp_path: Path, two_cameras):
    target = tmp_path / "site"
    pip("install", "--target", str(target), str(wheel), cwd=tmp_path)
    env = {**os.environ, "PYTHONPATH": str(target)}
    script = (
        "import reid_desktop, sys\n"
        "from reid_desktop.core.encoders.defaults import default_encoder_path\n"
        "from reid_desktop.core.encoders.runtime import EncoderRuntime\n"
        "p = default_encoder_path()\n"
        "EncoderRuntime.load(p)\n"  # a real, contract-complete encoder (not a pointer file)
        "print(reid_desktop.__file__)\n"
        "print(p)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    package, encoder = (Path(line) for line in done.stdout.split())
    assert package.is_relative_to(target) and encoder.is_relative_to(target) and encoder.is_file()

    # `reid embed` from the installed copy registers that file in a fresh project and uses it.
    project = tmp_path / "p.reidproj"
    for argv in (["ingest", str(project), str(two_cameras[0])], ["embed", str(project)]):
        done = subprocess.run(
            [sys.executable, "-m", "reid_desktop.cli", *argv],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
    assert f"Registered the default encoder {DEFAULT_NAME!r}" in done.stderr
    assert "12 embedded" in done.stdout
    from reid_desktop.store import Project

    with Project.open(project, read_only=True) as p:
        [registered] = p.encoders.all()
        assert Path(registered.file) == encoder
