"""int8 static QDQ quantisation of a tiny contract encoder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from helpers.onnx_factory import small_cnn, tiny_encoder
from helpers.synth import person_crop

from reid_desktop.core.encoders.contract import ContractError, EncoderInfo
from reid_desktop.core.encoders.preprocess import to_tensor
from reid_desktop.core.encoders.quantize import QUANTIZED_TAG, quantize_int8
from reid_desktop.core.imaging import load_rgb


@pytest.fixture
def crops(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "crops"
    folder.mkdir()
    paths = []
    for i in range(20):
        path = folder / f"c{i:02d}.jpg"
        person_crop(i % 7, i, seed=i % 3).save(path, quality=92)
        paths.append(path)
    return paths


def _meta(path: Path) -> dict[str, str]:
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


def _global(path: Path, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.concatenate([sess.run(["embedding"], {"x": x[i : i + 1]})[0] for i in range(len(x))])


@pytest.mark.parametrize("dynamic", [True, False])
def test_quantised_model_keeps_outputs_metadata_and_accuracy(tmp_path: Path, crops, dynamic: bool) -> None:
    fp32 = tiny_encoder(tmp_path / "fp32.onnx", dynamic=dynamic)
    int8 = quantize_int8(fp32, tmp_path / "int8.onnx", crops)
    assert int8.is_file()
    model = onnx.load(str(int8))
    assert [o.name for o in model.graph.output] == ["embedding", "feature_map"]
    assert any(n.op_type == "QuantizeLinear" for n in model.graph.node)

    before, after = _meta(fp32), _meta(int8)
    assert after["reid.preprocess"] == before["reid.preprocess"]
    assert after["reid.outputs"] == before["reid.outputs"]
    prov = json.loads(after["reid.provenance"])
    assert prov["quantized"] == QUANTIZED_TAG
    assert prov["source_sha256"] == json.loads(before["reid.provenance"])["source_sha256"]

    info = EncoderInfo.from_metadata(after)
    x = to_tensor([load_rgb(p) for p in crops], info.preprocess)
    a, b = _global(fp32, x), _global(int8, x)
    cos = np.sum(a * b, 1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    assert cos.mean() > 0.9


def test_too_few_calibration_crops_are_refused(tmp_path: Path, crops) -> None:
    fp32 = tiny_encoder(tmp_path / "fp32.onnx")
    with pytest.raises(ContractError, match="at least 10"):
        quantize_int8(fp32, tmp_path / "int8.onnx", crops[:5])
    assert not (tmp_path / "int8.onnx").exists()


def test_model_without_contract_metadata_is_refused(tmp_path: Path, crops) -> None:
    raw = small_cnn(tmp_path / "raw.onnx")
    with pytest.raises(ContractError, match="import-model"):
        quantize_int8(raw, tmp_path / "int8.onnx", crops)
    assert not (tmp_path / "int8.onnx").exists()
