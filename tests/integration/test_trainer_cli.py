"""reid-train end to end on tiny synthetic data: events, outputs, agreement with `reid eval`,
bad inputs, cancellation and torchrun (gloo, two processes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.synth import labelled_folder, person_crop

from reid_desktop.core.encoders.runtime import EncoderRuntime
from reid_desktop.core.evaluation.evaluate import evaluate_encoder
from reid_desktop.core.jobs import run_job
from reid_desktop.core.training.events import parse_line
from trainer.cli import main


def labelled(root: Path, people: int = 8, per_cam: int = 2) -> Path:
    return labelled_folder(root, people, per_cam)


def events_of(text: str):
    return [e for e in (parse_line(line) for line in text.splitlines()) if e is not None]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return labelled(tmp_path_factory.mktemp("trainer") / "data")


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data):
    out = tmp_path_factory.mktemp("run") / "out"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(
            [
                "--data",
                str(data),
                "--init",
                "bignet",
                "--recipe",
                "baseline",
                "--epochs",
                "2",
                "--holdout-frac",
                "0.4",
                "--seed",
                "3",
                "--out",
                str(out),
            ]
        )
    return rc, out, events_of(buf.getvalue())


def test_run_writes_contract_model_checkpoint_and_metrics(trained):
    rc, out, events = trained
    assert rc == 0
    kinds = [e.type for e in events]
    assert kinds[:2] == ["plan", "start"] and kinds[-1] == "done" and "export" in kinds
    assert [e["epoch"] for e in events if e.type == "eval"] == [0, 1, 2]
    assert any(e.type == "step" and "triplet" in e["terms"] for e in events)
    start = events[1]
    assert (start["train_ids"], start["holdout_ids"]) == (5, 3)
    assert sorted(p.name for p in out.iterdir()) == [
        "checkpoint.pt",
        "encoder.onnx",
        "holdout.csv",
        "metrics.json",
    ]
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["history"]) == 3 and len(metrics["holdout_identities"]) == 3
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".out.")]  # temp folder gone
    enc = EncoderRuntime.load(out / "encoder.onnx")
    assert enc.info.provenance["recipe"] == "baseline" and enc.info.outputs.dynamic_batch


def test_reid_eval_on_the_export_agrees_with_the_trainer(trained):
    _, out, events = trained
    done = events[-1]
    res = run_job(evaluate_encoder(EncoderRuntime.load(out / "encoder.onnx"), out, gt=out / "holdout.csv"))
    assert res.metrics.mAP == pytest.approx(done["after"]["mAP"], abs=1e-4)
    assert res.metrics.rank1 == pytest.approx(done["after"]["rank1"], abs=1e-4)


def test_continue_from_exported_model(trained, data, tmp_path, capsys):
    _, out, _ = trained
    rc = main(
        [
            "--data",
            str(data),
            "--init",
            str(out / "encoder.onnx"),
            "--recipe",
            "cosine-slice",
            "--epochs",
            "1",
            "--holdout-frac",
            "0.4",
            "--out",
            str(tmp_path / "again"),
        ]
    )
    events = events_of(capsys.readouterr().out)
    assert rc == 0 and events[-1].type == "done"
    start = next(e for e in events if e.type == "start")
    assert "encoder.onnx" in start["init"] or "checkpoint.pt" in start["init"]


def test_fine_tunes_an_imported_encoder_keeping_its_preprocessing(data, tmp_path, capsys):
    """An imported ONNX (no companion checkpoint) trains, exports with parity, keeps the model's own
    preprocessing, and the result is compared with the start on the same held-out people."""
    from helpers.onnx_factory import tiny_encoder

    src = tiny_encoder(tmp_path / "imported.onnx")
    out = tmp_path / "out"
    rc = main(
        ["--data", str(data), "--init", str(src), "--epochs", "1", "--holdout-frac", "0.4"]
        + ["--recipe", "baseline", "--out", str(out)]
    )
    events = events_of(capsys.readouterr().out)
    assert rc == 0, events[-1]
    start = next(e for e in events if e.type == "start")
    assert start["init"] == "imported encoder imported.onnx" and start["backbone_lr"] < start["head_lr"]
    done = events[-1]
    assert done["comparison"]["verdict"] in ("better", "worse", "unclear")
    assert done["comparison"]["holdout_ids"] == 3 and done["after"]["queries"] > 0
    first = next(e for e in events if e.type == "eval")
    assert first["epoch"] == 0 and done["best_epoch"] == 1  # the untrained start is never exported
    new, old = EncoderRuntime.load(out / "encoder.onnx"), EncoderRuntime.load(src)
    assert new.info.preprocess == old.info.preprocess
    assert new.info.provenance["parity"]["cosine_min"] >= 0.9999


@pytest.mark.parametrize(
    "case",
    [
        "out_exists",
        "single_identity",
        "singletons",
        "empty",
        "missing_init",
        "corrupt_init",
        "onnx_with_unsupported_op",
        "onnx_without_metadata",
    ],
)
def test_bad_input_is_an_error_event_and_nothing_is_written(case, data, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["--data", str(data), "--init", "bignet", "--epochs", "1", "--out", str(out)]
    if case == "out_exists":
        out.mkdir()
    elif case in ("single_identity", "singletons", "empty"):
        d = tmp_path / "d"
        (d / "cam1").mkdir(parents=True)
        rows = ["file,person_id,camera"]
        if case == "single_identity":
            for i in range(3):
                person_crop(1, i).save(d / "cam1" / f"{i}.jpg")
                rows.append(f"cam1/{i}.jpg,1,cam1")
        elif case == "singletons":
            for i in range(3):
                person_crop(i, 0).save(d / "cam1" / f"{i}.jpg")
                rows.append(f"cam1/{i}.jpg,{i},cam1")
        (d / "ground_truth.csv").write_text("\n".join(rows) + "\n")
        args[1] = str(d)
    elif case == "missing_init":
        args[args.index("bignet")] = str(tmp_path / "nope.pt")
    elif case == "corrupt_init":
        bad = tmp_path / "bad.pt"
        bad.write_bytes(b"not a checkpoint")
        args[args.index("bignet")] = str(bad)
    elif case == "onnx_with_unsupported_op":
        from helpers.onnx_factory import tiny_encoder, with_op_on_map

        bad = with_op_on_map(tiny_encoder(tmp_path / "m.onnx"), tmp_path / "shrink.onnx")
        args[args.index("bignet")] = str(bad)
    elif case == "onnx_without_metadata":
        from helpers.onnx_factory import small_cnn

        args[args.index("bignet")] = str(small_cnn(tmp_path / "foreign.onnx"))
    rc = main(args)
    events = events_of(capsys.readouterr().out)
    assert rc != 0
    assert events and events[-1].type == "error" and events[-1]["message"]
    if case == "onnx_with_unsupported_op":
        assert "Shrink" in events[-1]["message"] and "\n" not in events[-1]["message"]
    if case == "out_exists":
        assert list(out.iterdir()) == []
    else:
        assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def _run_cli(args: list[str], **kw) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "trainer.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kw,
    )


def test_sigterm_cancels_cleanly(data, tmp_path):
    out = tmp_path / "out"
    proc = _run_cli(["--data", str(data), "--init", "bignet", "--epochs", "50", "--out", str(out)])
    lines = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if '"event": "step"' in line or not line:
            break
    proc.send_signal(signal.SIGTERM)
    rest, _ = proc.communicate(timeout=60)
    events = events_of("".join(lines) + rest)
    assert proc.returncode == 130
    assert events[-1].type == "error" and events[-1].get("cancelled") is True
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_torchrun_two_processes_gloo(data, tmp_path):
    out = tmp_path / "ddp"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "trainer.cli",
            "--data",
            str(data),
            "--init",
            "bignet",
            "--epochs",
            "1",
            "--holdout-frac",
            "0.4",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    events = events_of(proc.stdout)
    assert [e.type for e in events].count("start") == 1  # only rank 0 speaks
    assert events[-1].type == "done" and (out / "encoder.onnx").is_file()
