"""`reid import-model`, `reid embed` and `reid match` decide as the app does: the preprocessing
from one core rule, the default encoder from one core function."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest
from helpers.onnx_factory import small_cnn

from reid_desktop.cli import main
from reid_desktop.core.encoders.contract import IMAGENET_MEAN, IMAGENET_STD, EncoderInfo, Preprocess
from reid_desktop.core.encoders.defaults import DEFAULT_NAME, default_encoder_path, ensure_default_encoder
from reid_desktop.store import Project


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def recorded(path: Path) -> Preprocess:
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    return EncoderInfo.from_metadata(meta).preprocess


def test_import_model_with_mean_only_keeps_the_models_own_size(capsys, tmp_path: Path):
    src = small_cnn(tmp_path / "src.onnx")  # input fixed at 64×32
    rc, out, err = run(capsys, "import-model", src, "--out", tmp_path / "out.onnx", "--mean", 0.5, 0.4, 0.3)
    assert rc == 0, err
    assert recorded(tmp_path / "out.onnx") == Preprocess(64, 32, mean=(0.5, 0.4, 0.3), std=IMAGENET_STD)
    assert "preprocessing: RGB 64×32, pixels ÷ 255, mean 0.5 0.4 0.3" in out


def test_import_model_bgr_raw_pixels_gets_imagenet_stats_in_bgr_order(capsys, tmp_path: Path):
    src = small_cnn(tmp_path / "src.onnx")
    rc, _, err = run(capsys, "import-model", src, "--out", tmp_path / "out.onnx", "--bgr", "--scale", 1)
    assert rc == 0, err
    p = recorded(tmp_path / "out.onnx")
    assert (p.rgb, p.scale, (p.height, p.width)) == (False, 1.0, (64, 32))
    assert p.mean == pytest.approx([m * 255 for m in IMAGENET_MEAN[::-1]])
    assert p.std == pytest.approx([s * 255 for s in IMAGENET_STD[::-1]])


def test_import_model_refuses_a_size_the_model_contradicts(capsys, tmp_path: Path):
    src = small_cnn(tmp_path / "src.onnx")
    rc, _, err = run(capsys, "import-model", src, "--out", tmp_path / "out.onnx", "--size", "256x128")
    assert rc == 1 and "fixed at 64×32" in err and not (tmp_path / "out.onnx").exists()
    with pytest.raises(SystemExit) as usage:
        main(["import-model", str(src), "--out", str(tmp_path / "o.onnx"), "--size", "big"])
    assert usage.value.code == 2 and "size is HEIGHTxWIDTH, e.g. 256x128" in capsys.readouterr().err


@pytest.fixture
def ingested(capsys, tmp_path: Path, two_cameras: list[Path]) -> Path:
    if not default_encoder_path().is_file():
        pytest.skip("the default encoder is not built (make default-encoder)")
    path = tmp_path / "p.reidproj"
    assert main(["ingest", str(path), *map(str, two_cameras)]) == 0
    capsys.readouterr()
    return path


def test_embed_on_a_fresh_project_registers_and_uses_the_default_encoder(capsys, ingested: Path):
    rc, out, err = run(capsys, "embed", ingested)
    assert rc == 0, err
    assert f"Registered the default encoder {DEFAULT_NAME!r}" in err
    assert f"model {DEFAULT_NAME!r}" in out and "24 embedded" in out
    with Project.open(ingested) as p:
        [encoder] = p.encoders.all()
        assert p.active_encoder_id == encoder.id and Path(encoder.file) == default_encoder_path().absolute()
        assert ensure_default_encoder(p) == encoder  # the app picks the very same record
        first = p.crops.all()[0].id
    rc, out, err = run(capsys, "match", ingested, first, "--k", 3)
    assert rc == 0, err
    assert out.startswith(f"query crop {first}:") and len(out.splitlines()) == 4
    rc, out, _ = run(capsys, "info", ingested)
    assert f"models: 1 (active: {DEFAULT_NAME})" in out
    rc, out, _ = run(capsys, "info", "--json", ingested)
    assert json.loads(out)["active_model"] == DEFAULT_NAME


def test_embed_uses_the_default_encoder_the_app_registered(capsys, ingested: Path):
    with Project.open(ingested) as p:
        app_choice = ensure_default_encoder(p)  # what the Review screen does on first use
    rc, out, err = run(capsys, "embed", ingested)
    assert rc == 0, err
    assert "Registered" not in err and f"model {DEFAULT_NAME!r}" in out
    with Project.open(ingested) as p:
        assert p.encoders.all() == [app_choice]


def test_match_on_a_fresh_project_says_what_to_do_and_writes_nothing(capsys, ingested: Path):
    with Project.open(ingested) as p:
        first = p.crops.all()[0].id
    rc, out, err = run(capsys, "match", ingested, first)
    assert rc == 1 and out == ""
    assert err.startswith("reid: error: the project has no model yet; `reid embed PROJECT`")
    with Project.open(ingested, read_only=True) as p:
        assert p.encoders.all() == [] and p.active_encoder_id is None
