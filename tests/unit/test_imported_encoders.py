"""Imported ONNX encoders become trainable torch modules: parity with onnxruntime, a training step
that changes the weights and still exports with parity, one-line refusals naming an unsupported op."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from helpers.onnx_factory import small_cnn, tiny_encoder, with_op_on_map

from reid_desktop.core.encoders.runtime import EncoderRuntime
from trainer.export import export_onnx, load_checkpoint, parity_of
from trainer.networks.imported import ConversionError, ImportedBackbone, read_encoder
from trainer.networks.reid_net import ONNX_BACKBONE, ReIDNet

SHARED = Path(__file__).resolve().parents[3] / "shared" / "models"
INTEL = SHARED / "intel-person-reid-retail-0267.onnx"


def cosine_min(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    return float(((a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))).min())


def assert_parity(path: Path, batch: int = 4) -> ImportedBackbone:
    bb = ImportedBackbone.from_file(path).eval()
    p = bb.info.preprocess
    x = np.random.default_rng(0).standard_normal((batch, 3, p.height, p.width)).astype(np.float32)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [bb.info.outputs.global_name, bb.info.outputs.map_name]
    ref_g, ref_map = sess.run(names, {sess.get_inputs()[0].name: x})
    with torch.no_grad():
        g, fmap = bb(torch.from_numpy(x))
    assert cosine_min(g.numpy(), ref_g) >= 0.9999
    assert cosine_min(fmap.numpy(), ref_map) >= 0.9999
    return bb


def test_tiny_imported_encoder_converts_with_parity(tmp_path):
    assert_parity(tiny_encoder(tmp_path / "m.onnx"))


@pytest.mark.shared
def test_intel_encoder_converts_with_parity(tmp_path):
    if not INTEL.is_file():
        pytest.skip("../shared/models is not present")
    from reid_desktop.core.encoders.importer import import_model

    dst = tmp_path / "intel.onnx"
    import_model(INTEL, dst)
    bb = assert_parity(dst, batch=2)
    assert bb.global_dim == 256 and bb.channels == 256


def test_a_training_step_changes_weights_and_the_export_keeps_parity(tmp_path):
    src = tiny_encoder(tmp_path / "m.onnx")
    net = ReIDNet(ONNX_BACKBONE, graph=src.read_bytes(), stripe_dim=0, proj_dim=0, num_classes=3)
    p = net.backbone.info.preprocess
    start = EncoderRuntime.load(src)
    x = torch.randn(6, 3, p.height, p.width)
    with torch.no_grad():  # before training, the net's embedding is the imported encoder's own
        e, _ = net.eval()(x)
    assert cosine_min(e.numpy(), start.encode_tensor(x.numpy()).global_) >= 0.9999
    before = {k: v.clone() for k, v in net.backbone.state_dict().items() if v.is_floating_point()}
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    out = net.train()(x)
    torch.nn.functional.cross_entropy(out["logits"], torch.tensor([0, 0, 1, 1, 2, 2])).backward()
    opt.step()
    changed = [
        k for k, v in net.backbone.state_dict().items() if k in before and not torch.equal(v, before[k])
    ]
    assert changed, "no backbone weight moved"
    net.classifier = None
    path = export_onnx(net, tmp_path / "ft.onnx", p, {"test": True}, parity_images=x)
    assert parity_of(path)["cosine_min"] >= 0.9999
    trained = EncoderRuntime.load(path)
    assert (
        cosine_min(trained.encode_tensor(x.numpy()).global_, start.encode_tensor(x.numpy()).global_) < 0.99999
    )
    again = load_checkpoint(path.with_suffix(".pt"))  # the graph travels with the weights
    with torch.no_grad():
        a, _ = again(x)
        b, _ = net.eval()(x)
    assert torch.allclose(a, b, atol=1e-5)


def test_unsupported_op_is_refused_naming_it(tmp_path):
    bad = with_op_on_map(tiny_encoder(tmp_path / "m.onnx"), tmp_path / "shrink.onnx")
    EncoderRuntime.load(bad)  # onnxruntime runs it: only the conversion cannot
    with pytest.raises(ConversionError) as exc:
        ImportedBackbone.from_file(bad)
    msg = str(exc.value)
    assert "Shrink" in msg and "shrink.onnx" in msg and "\n" not in msg


def test_an_encoder_without_contract_metadata_is_refused(tmp_path):
    foreign = small_cnn(tmp_path / "foreign.onnx")
    with pytest.raises(ConversionError, match="reid import-model"):
        read_encoder(foreign)
    (tmp_path / "junk.onnx").write_bytes(b"not onnx")
    with pytest.raises(ConversionError, match="not a readable ONNX file"):
        read_encoder(tmp_path / "junk.onnx")
