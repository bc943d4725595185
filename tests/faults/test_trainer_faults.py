"""reid-train fed files that are not plain weights: a pickle that would run code, a truncated
checkpoint, a file that is not PyTorch's at all. Each is refused in one line, nothing runs, no
traceback, and no advice to load it unsafely."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

from reid_desktop.core.training.events import parse_line
from trainer.cli import main

from .tiny import tiny_data

UNSAFE_HINT = "weights_only=False"


class Evil:
    """Unpickling this creates `marker`: a stand-in for any code a pickle can run."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def make_file(kind: str, path: Path, marker: Path) -> Path:
    if kind == "evil_torch":  # torch.save's zip format with a code-running object inside
        torch.save({"x": Evil(marker), "w": torch.zeros(2)}, path)
    elif kind == "evil_pickle":  # a bare pickle, as old tutorials save models
        path.write_bytes(pickle.dumps({"state_dict": Evil(marker)}))
    elif kind == "truncated":
        buf = io.BytesIO()
        torch.save({"w": torch.zeros(4096)}, buf)
        path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    elif kind == "not_torch":
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 200)
    return path


EXPECT = {
    "evil_torch": "not a plain weights file",
    "evil_pickle": "not a plain weights file",
    "truncated": "truncated or damaged",
    "not_torch": "not a PyTorch weights file",
}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return tiny_data(tmp_path_factory.mktemp("faults") / "data")


def test_the_evil_files_really_run_code(tmp_path):
    """The fixtures are honest: plain unpickling of either evil file creates the marker."""
    for kind in ("evil_torch", "evil_pickle"):
        marker = tmp_path / f"ran-{kind}"
        f = make_file(kind, tmp_path / f"{kind}.pt", marker)
        if kind == "evil_torch":
            with zipfile.ZipFile(f) as z:
                blob = z.read(next(n for n in z.namelist() if n.endswith("data.pkl")))

            class Plain(pickle.Unpickler):
                def persistent_load(self, pid):  # tensor storages: irrelevant here
                    return None

            with contextlib.suppress(Exception):  # the tensor after it cannot be rebuilt here
                Plain(io.BytesIO(blob)).load()
        else:
            pickle.loads(f.read_bytes())
        assert marker.exists()


@pytest.mark.parametrize("kind", sorted(EXPECT))
@pytest.mark.parametrize("flag", ["--weights", "--init"])
def test_unsafe_or_broken_weights_are_one_line_refusals(kind, flag, data, tmp_path, capsys, caplog):
    marker = tmp_path / "code-ran"
    bad = make_file(kind, tmp_path / f"{kind}.pt", marker)
    out = tmp_path / "out"
    args = ["--data", str(data), "--epochs", "1", "--out", str(out)]
    args += ["--init", "mobilenetv2", "--weights", str(bad)] if flag == "--weights" else ["--init", str(bad)]
    with caplog.at_level(logging.DEBUG):
        rc = main(args)
    cap = capsys.readouterr()
    events = [e for e in (parse_line(line) for line in cap.out.splitlines()) if e is not None]
    assert rc != 0 and events and events[-1].type == "error", cap.out
    msg = events[-1]["message"]
    assert "\n" not in msg and UNSAFE_HINT not in msg and "weights_only" not in msg, msg
    assert bad.name in msg and EXPECT[kind] in msg, msg
    if kind.startswith("evil"):
        assert "code or objects" in msg and "plain tensor" in msg, msg
    assert "Traceback" not in cap.err and not [r for r in caplog.records if r.exc_info], cap.err
    assert not marker.exists()  # nothing in the file ran
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_evil_weights_from_the_command_line_no_traceback(data, tmp_path):
    """The real process: stderr stays free of tracebacks (it printed 22 lines before)."""
    marker = tmp_path / "code-ran"
    bad = make_file("evil_torch", tmp_path / "evil.pt", marker)
    proc = subprocess.run(
        [sys.executable, "-m", "trainer.cli", "--data", str(data), "--init", "resnet18"]
        + ["--weights", str(bad), "--epochs", "1", "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    assert proc.returncode != 0
    last = json.loads(proc.stdout.strip().splitlines()[-1])
    assert last["event"] == "error" and UNSAFE_HINT not in last["message"], last
    assert "Traceback" not in proc.stderr and len(proc.stderr.splitlines()) <= 1, proc.stderr
    assert not marker.exists()


def test_every_torch_load_in_the_trainer_goes_through_the_helper():
    """One place reads .pt files, always with weights_only=True (grep-level guard)."""
    root = Path(__file__).resolve().parents[2] / "trainer"
    offenders = []
    for py in root.rglob("*.py"):
        text = py.read_text(encoding="utf-8")
        if "torch.load(" in text and py.name != "safe_load.py":
            offenders.append(py.relative_to(root.parent).as_posix())
    assert offenders == []
    helper = (root / "safe_load.py").read_text(encoding="utf-8")
    assert helper.count("torch.load(") == 1 and "weights_only=True" in helper


def test_a_finished_run_is_never_lost_when_out_appears_meanwhile(tmp_path):
    """--out created by someone else during the run: the result goes beside it, both are kept."""
    from trainer.cli import publish

    out = tmp_path / "run"
    for content in ("theirs", None):  # a non-empty folder, then an empty one
        tmp = tmp_path / f".run.tmp-{content}"
        tmp.mkdir()
        (tmp / "encoder.onnx").write_text("ours")
        out.mkdir(exist_ok=True)
        if content:
            (out / "theirs.txt").write_text(content)
        got = publish(tmp, out)
        assert got != out and (got / "encoder.onnx").read_text() == "ours"
        assert (out / "theirs.txt").read_text() == "theirs"
        assert not tmp.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "run-2", "run-3"]


def test_an_evil_companion_checkpoint_beside_an_onnx_init_is_refused(data, tmp_path, capsys):
    """`--init MODEL.onnx` continues from MODEL.pt when it exists: that file is read as plain tensors
    too, so a pickle planted beside an encoder is refused and nothing in it runs."""
    from helpers.onnx_factory import tiny_encoder

    marker = tmp_path / "code-ran"
    model = tiny_encoder(tmp_path / "model.onnx")
    make_file("evil_torch", model.with_suffix(".pt"), marker)
    out = tmp_path / "out"
    rc = main(["--data", str(data), "--init", str(model), "--epochs", "1", "--out", str(out)])
    events = [e for e in (parse_line(x) for x in capsys.readouterr().out.splitlines()) if e is not None]
    assert rc != 0 and events[-1].type == "error"
    msg = events[-1]["message"]
    assert "model.pt" in msg and "not a plain weights file" in msg and "\n" not in msg, msg
    assert not marker.exists() and not out.exists()
