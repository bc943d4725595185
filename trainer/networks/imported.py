"""An imported ONNX encoder as a trainable PyTorch backbone.

The operator's strongest encoder is often one they imported (`reid import-model`), not one this
trainer built. `ImportedBackbone` turns such a contract-complete ONNX file into a torch module with
onnx2torch (pinned in the `train` extra) and returns what the file returns: the encoder's own global
embedding and the feature map the importer tapped for stripes. ReIDNet then attaches the training
heads (BNNeck, classifier, projection; stripes pooled on the tapped map) and exports through the
parity-checked `trainer.export`.

Why onnx2torch, and why shape inference first (measured with torch 2.14.1, onnx2torch 1.5.15, on
the imported Intel person-reid-retail-0267 and OSNet x0.25 MSMT17 files, random 4×3×256×128 batch):
onnx2torch refuses the Intel graph's BatchNormalization while the input rank is unknown ("spatial
rank == -2"); after onnxruntime's symbolic shape inference it converts in 0.3 s, and the converted
module matches onnxruntime at cosine 0.99999994 on both outputs of both models (max |Δ| 4e-6 /
9e-5), and every parameter receives a gradient. A converter of our own would have had to cover the
same 24 op types (InstanceNormalization, PRelu, the rewritten MeanVarianceNormalization's
ReduceMean/Sqrt/Div, …) for the same result.

The source graph travels with the weights (the `graph` buffer: its bytes), so a checkpoint of a
fine-tuned imported encoder rebuilds the same architecture (`trainer.export.load_checkpoint`).
An op that cannot be converted is refused in one sentence that names it.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from reid_desktop.core.encoders.contract import ContractError, EncoderInfo

log = logging.getLogger(__name__)


def _exporter_shim() -> None:
    """onnx2torch 1.5.15 reads the export opset from `torch.onnx.symbolic_helper.GLOBALS`, which
    torch 2.14 keeps in its TorchScript exporter package; without this its Shape/Reshape modules
    fail while the trained model is exported (measured). Idempotent; touches nothing else."""
    from torch.onnx import symbolic_helper

    if not hasattr(symbolic_helper, "GLOBALS"):
        from torch.onnx._internal.torchscript_exporter._globals import GLOBALS

        symbolic_helper.GLOBALS = GLOBALS


class ConversionError(RuntimeError):
    """The ONNX encoder cannot be turned into a trainable module; the message says why in one line."""


def read_encoder(path: Path) -> tuple[onnx.ModelProto, EncoderInfo]:
    """The ONNX graph and its encoder-contract metadata; ConversionError names what is wrong."""
    path = Path(path)
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # noqa: BLE001  (protobuf DecodeError, OSError…)
        raise ConversionError(f"{path.name} is not a readable ONNX file ({type(exc).__name__})") from None
    meta = {p.key: p.value for p in model.metadata_props}
    try:
        info = EncoderInfo.from_metadata(meta)
    except ContractError as exc:
        raise ConversionError(f"{path.name}: {exc}") from None
    if not info.outputs.map_name:
        raise ConversionError(
            f"{path.name} has no feature-map output; re-import it with `reid import-model` so the "
            "trainer can pool stripes from its last spatial map"
        )
    return model, info


def _unsupported_ops(model: onnx.ModelProto) -> list[str]:
    from onnx2torch.node_converters.registry import _CONVERTER_REGISTRY

    known = {(k.domain or "", k.operation_type) for k in _CONVERTER_REGISTRY}
    used = {(n.domain or "", n.op_type) for n in model.graph.node}
    return sorted(f"{d}.{op}" if d else op for d, op in used if (d, op) not in known)


def _select_outputs(model: onnx.ModelProto, global_name: str, map_name: str) -> onnx.ModelProto:
    """A copy whose outputs are exactly (global, map), in that order."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    by_name = {o.name: o for o in m.graph.output}
    missing = [n for n in (global_name, map_name) if n not in by_name]
    if missing:
        raise ConversionError(f"the model's metadata names output {missing[0]!r}, which the graph lacks")
    keep = [by_name[global_name], by_name[map_name]]
    del m.graph.output[:]
    m.graph.output.extend(keep)
    return m


def convert(model: onnx.ModelProto, global_name: str, map_name: str, name: str = "model") -> nn.Module:
    """A torch module x → (global N×D, map N×C×h×w) equivalent to the ONNX graph."""
    bad = _unsupported_ops(model)
    if bad:
        raise ConversionError(
            f"{name} uses the ONNX operation {bad[0]}"
            + (f" (and {', '.join(bad[1:4])})" if len(bad) > 1 else "")
            + ", which cannot be converted to a trainable PyTorch layer; fine-tune another model"
        )
    model = _select_outputs(model, global_name, map_name)
    try:
        from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference

        model = SymbolicShapeInference.infer_shapes(model, auto_merge=True)  # BN needs the input rank
    except Exception as exc:  # noqa: BLE001  (then onnx2torch may still manage without shapes)
        log.info("%s: symbolic shape inference failed (%s); converting without it", name, exc)
    from onnx2torch import convert as o2t

    _exporter_shim()

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return o2t(model)
    except NotImplementedError as exc:  # an op variant (attribute, opset) onnx2torch cannot do
        raise ConversionError(
            f"{name} cannot be converted to a trainable PyTorch module: {str(exc).splitlines()[0][:200]}"
        ) from None
    except Exception as exc:  # noqa: BLE001
        raise ConversionError(
            f"{name} cannot be converted to a trainable PyTorch module ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:160]})"
        ) from None


class ImportedBackbone(nn.Module):
    """forward(x) → (the encoder's own global embedding N×D, its tapped feature map N×C×h×w)."""

    def __init__(self, graph: bytes, name: str = "imported encoder") -> None:
        super().__init__()
        try:
            model = onnx.load_from_string(graph)
        except Exception as exc:  # noqa: BLE001
            raise ConversionError(f"{name}: the stored ONNX graph is unreadable ({exc})") from None
        meta = {p.key: p.value for p in model.metadata_props}
        info = EncoderInfo.from_metadata(meta)
        self.info = info
        self.net = convert(model, info.outputs.global_name, info.outputs.map_name, name)
        self.register_buffer("graph", torch.from_numpy(np.frombuffer(graph, dtype=np.uint8).copy()))
        p = info.preprocess
        with torch.no_grad():
            self.net.eval()
            g, m = self.net(torch.zeros(2, 3, p.height, p.width))
        self.global_dim = int(g.reshape(2, -1).shape[1])
        self.channels = int(m.shape[1])

    @classmethod
    def from_file(cls, path: Path) -> ImportedBackbone:
        path = Path(path)
        read_encoder(path)  # one-line refusals for unreadable files and missing metadata
        return cls(path.read_bytes(), path.name)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        g, fmap = self.net(x)
        return g.flatten(1), fmap
