"""`import_model`: each contract rule on tiny generated models, then the real files in ../shared/models."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from helpers.onnx_factory import not_onnx_bytes, small_cnn, tiny_encoder, truncated_onnx_bytes
from helpers.synth import person_crop
from PIL import Image

from reid_desktop.core.encoders import onnx_graph as og
from reid_desktop.core.encoders.contract import ContractError, EncoderInfo, Preprocess
from reid_desktop.core.encoders.importer import WARN_FIXED, WARN_NO_MAP, import_model
from reid_desktop.core.encoders.preprocess import to_tensor

MODELS = Path(__file__).resolve().parents[3] / "shared" / "models"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _meta(path: Path) -> dict[str, str]:
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


def assert_refused(src: Path, dst: Path, match: str, **kwargs) -> ContractError:
    """The import fails with `match`, leaves nothing at (or next to) dst, and src is untouched."""
    before = _sha(src)
    with pytest.raises(ContractError, match=match) as err:
        import_model(src, dst, **kwargs)
    assert not dst.exists()
    assert not [p for p in dst.parent.iterdir() if p.name.startswith(f".{dst.name}")]
    assert _sha(src) == before
    return err.value


def test_small_cnn_imports_with_map_dynamic_batch_and_metadata(tmp_path: Path) -> None:
    src = small_cnn(tmp_path / "src.onnx")
    before = _sha(src)
    report = import_model(src, tmp_path / "out.onnx")
    assert _sha(src) == before
    assert report.map_shape == (8, 16, 8)  # the 4×32×16 gate input would be the wrong answer
    assert report.global_dim == 16 and report.dynamic_batch and report.warnings == []
    assert report.input_name == "x" and report.sha256 == _sha(report.dst)

    info = EncoderInfo.from_metadata(_meta(report.dst))
    assert info == report.info
    assert info.preprocess == Preprocess(height=64, width=32)
    assert (info.outputs.global_name, info.outputs.map_name) == ("embedding", "feature_map")
    assert info.outputs.dynamic_batch
    prov = info.provenance
    assert prov["source"] == "src.onnx" and prov["source_sha256"] == before
    assert prov["importer"] == "reid import-model" and prov["opset"] == 13 and prov["map_tensor"] == "map"
    assert prov["imported_at"].endswith("+00:00")

    sess = _session(report.dst)
    assert sess.get_inputs()[0].shape[0] == "N"
    x = np.random.default_rng(1).standard_normal((3, 3, 64, 32)).astype(np.float32)
    g, fmap = sess.run(None, {"x": x})
    assert g.shape == (3, 16) and fmap.shape == (3, 8, 16, 8)
    single = sess.run(None, {"x": x[2:3]})[0]
    np.testing.assert_allclose(g[2:3], single, atol=1e-5)


def test_breadth_first_search_skips_the_channel_gate(tmp_path: Path) -> None:
    model = onnx.load(str(small_cnn(tmp_path / "src.onnx")))
    cands = og.pooling_candidates(model.graph, "embedding")
    assert [c.map_name for c in cands] == ["map", "a1"]  # final pool first, the gate after
    gate = cands[1]
    assert og.bypasses_pool(model.graph, gate, "embedding")  # a1 flows on around its gate
    assert not og.bypasses_pool(model.graph, cands[0], "embedding")


@pytest.mark.parametrize("pool", ["reducemean", "avgpool", "dwconv"])
def test_other_global_poolings_are_found(tmp_path: Path, pool: str) -> None:
    report = import_model(small_cnn(tmp_path / "src.onnx", pool=pool), tmp_path / "out.onnx")
    assert report.map_shape == (8, 16, 8)


def test_no_pooling_disables_stripes(tmp_path: Path) -> None:
    report = import_model(small_cnn(tmp_path / "src.onnx", pool="none"), tmp_path / "out.onnx")
    assert report.map_shape is None and WARN_NO_MAP in report.warnings
    assert report.info.outputs.map_name is None
    assert [o.name for o in _session(report.dst).get_outputs()] == ["embedding"]
    assert json.loads(_meta(report.dst)["reid.outputs"])["map"] is None


@pytest.mark.parametrize("content", ["garbage", "truncated", "empty"])
def test_not_onnx_is_refused(tmp_path: Path, content: str) -> None:
    src = tmp_path / "bad.onnx"
    if content == "garbage":
        src.write_bytes(not_onnx_bytes())
    elif content == "truncated":
        src.write_bytes(truncated_onnx_bytes(small_cnn(tmp_path / "good.onnx")))
    else:
        src.write_bytes(b"")
    assert_refused(src, tmp_path / "out.onnx", "not a valid ONNX model")


@pytest.mark.parametrize("kind", ["gray", "rank2"])
def test_non_image_input_is_refused(tmp_path: Path, kind: str) -> None:
    src = small_cnn(tmp_path / "src.onnx", input_kind=kind)
    assert_refused(src, tmp_path / "out.onnx", r"not an image tensor \(N×3×H×W float\)")


def test_existing_destination_is_refused_unless_overwrite(tmp_path: Path) -> None:
    src = small_cnn(tmp_path / "src.onnx")
    dst = tmp_path / "out.onnx"
    dst.write_bytes(b"keep me")
    with pytest.raises(ContractError, match="already exists"):
        import_model(src, dst)
    assert dst.read_bytes() == b"keep me"
    report = import_model(src, dst, overwrite=True)
    assert report.sha256 == _sha(dst)


def test_preprocess_is_recorded_and_must_match_a_static_input(tmp_path: Path) -> None:
    src = small_cnn(tmp_path / "src.onnx")
    bgr = Preprocess(64, 32, rgb=False, scale=1.0, mean=(104.0, 117.0, 123.0), std=(1.0, 1.0, 1.0))
    report = import_model(src, tmp_path / "out.onnx", bgr)
    assert EncoderInfo.from_metadata(_meta(report.dst)).preprocess == bgr
    wrong = Preprocess(height=256, width=128)
    assert_refused(src, tmp_path / "other.onnx", "fixed at 64×32", preprocess=wrong)


def test_n_d_1_1_global_output_gets_flattened(tmp_path: Path) -> None:
    report = import_model(small_cnn(tmp_path / "src.onnx", out4d=True), tmp_path / "out.onnx")
    assert report.info.outputs.global_name == "global_embedding" and report.global_dim == 16
    g = _session(report.dst).run(["global_embedding"], {"x": np.zeros((2, 3, 64, 32), np.float32)})[0]
    assert g.shape == (2, 16)


def test_literal_batch_one_reshape_is_repaired(tmp_path: Path) -> None:
    report = import_model(small_cnn(tmp_path / "src.onnx", batch_reshape="literal"), tmp_path / "out.onnx")
    assert report.dynamic_batch and report.warnings == []
    assert report.info.provenance["batch_reshapes_fixed"] == 1


def test_computed_batch_one_reshape_falls_back_to_fixed_batch(tmp_path: Path) -> None:
    report = import_model(small_cnn(tmp_path / "src.onnx", batch_reshape="computed"), tmp_path / "out.onnx")
    assert not report.dynamic_batch and WARN_FIXED in report.warnings
    assert json.loads(_meta(report.dst)["reid.outputs"])["batch"] == "fixed"
    sess = _session(report.dst)
    assert sess.get_inputs()[0].shape[0] == 1
    assert sess.run(None, {"x": np.zeros((1, 3, 64, 32), np.float32)})[1].shape == (1, 8, 16, 8)


def test_nan_outputs_are_refused(tmp_path: Path) -> None:
    assert_refused(small_cnn(tmp_path / "src.onnx", nan=True), tmp_path / "out.onnx", "not finite")


def test_constant_embedding_is_refused(tmp_path: Path) -> None:
    assert_refused(small_cnn(tmp_path / "src.onnx", constant=True), tmp_path / "out.onnx", "same for")


def test_extra_outputs_are_dropped_with_a_warning(tmp_path: Path) -> None:
    report = import_model(small_cnn(tmp_path / "src.onnx", extra_output=True), tmp_path / "out.onnx")
    assert any("'logits'" in w for w in report.warnings)
    assert [o.name for o in _session(report.dst).get_outputs()] == ["embedding", "feature_map"]


def test_probe_images_are_used_and_bad_ones_skipped(tmp_path: Path) -> None:
    probes = []
    for i in range(3):
        person_crop(i, 0).save(tmp_path / f"p{i}.jpg")
        probes.append(tmp_path / f"p{i}.jpg")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    src = small_cnn(tmp_path / "src.onnx")
    report = import_model(src, tmp_path / "out.onnx", probe_images=[*probes, tmp_path / "broken.jpg"])
    assert [w for w in report.warnings if "broken.jpg" in w]


def test_to_tensor_resizes_orders_channels_and_normalises() -> None:
    img = Image.new("RGB", (10, 20), (255, 0, 51))
    p = Preprocess(height=16, width=8, scale=255.0, mean=(0.5, 0.0, 0.0), std=(0.5, 1.0, 0.2))
    x = to_tensor([img, img], p)
    assert x.shape == (2, 3, 16, 8) and x.dtype == np.float32
    np.testing.assert_allclose(x[0, :, 0, 0], [1.0, 0.0, 1.0], atol=1e-6)
    raw_bgr = Preprocess(height=16, width=8, rgb=False, scale=1.0, mean=(0, 0, 0), std=(1, 1, 1))
    bgr = to_tensor([img], raw_bgr)
    np.testing.assert_allclose(bgr[0, :, 3, 3], [51.0, 0.0, 255.0])


@pytest.mark.parametrize("dynamic", [True, False])
def test_tiny_encoder_is_contract_complete(tmp_path: Path, dynamic: bool) -> None:
    path = tiny_encoder(tmp_path / "tiny.onnx", dynamic=dynamic, height=32, width=16, dim=8)
    info = EncoderInfo.from_metadata(_meta(path))
    assert info.outputs.map_name == "feature_map" and info.outputs.dynamic_batch == dynamic
    assert (info.preprocess.height, info.preprocess.width) == (32, 16)
    assert [p.name for p in tmp_path.iterdir()] == ["tiny.onnx"]
    outs = _session(path).run(None, {"x": np.zeros((1, 3, 32, 16), np.float32)})
    assert outs[0].shape == (1, 8) and outs[1].shape == (1, 8, 8, 4)


# --- the real files (skip when ../shared/models is absent) -------------------------------------


def _real(name: str) -> Path:
    path = MODELS / name
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    return path


def _check_batch(report) -> None:
    """Batch 2 equals two runs of batch 1, or the model says it is fixed."""
    sess = _session(report.dst)
    x = np.random.default_rng(0).standard_normal((2, 3, 256, 128)).astype(np.float32)
    if not report.dynamic_batch:
        assert WARN_FIXED in report.warnings
        return
    both = sess.run(None, {report.input_name: x})
    for i in range(2):
        one = sess.run(None, {report.input_name: x[i : i + 1]})
        for a, b in zip(both, one, strict=True):
            np.testing.assert_allclose(a[i : i + 1], b, atol=1e-4, rtol=1e-4)


@pytest.mark.shared
def test_real_intel_encoder_imports(tmp_path: Path) -> None:
    report = import_model(_real("intel-person-reid-retail-0267.onnx"), tmp_path / "intel.onnx")
    # Its final pooling is a learned 16×8 depthwise Conv over conv5's 256×16×8 output. All 24
    # GlobalAveragePools are channel gates; the nearest one's input (64×16×8) is the wrong map.
    assert report.map_shape == (256, 16, 8)
    assert report.global_dim == 256 and report.input_name == "data"
    assert report.info.preprocess == Preprocess(height=256, width=128)
    _check_batch(report)


@pytest.mark.shared
def test_real_osnet_imports(tmp_path: Path) -> None:
    report = import_model(_real("osnet_x0_25_msmt17.onnx"), tmp_path / "osnet.onnx")
    assert report.map_shape == (128, 16, 8) and report.global_dim == 512
    assert report.dynamic_batch  # after rewriting its Reshape [1, -1] to [0, -1]
    _check_batch(report)


@pytest.mark.shared
def test_real_broken_mvn_model_is_refused(tmp_path: Path) -> None:
    src = _real("intel-person-reid-retail-0267.broken-mvn.onnx")
    assert_refused(src, tmp_path / "broken.onnx", "not finite")
