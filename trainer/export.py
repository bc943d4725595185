"""ONNX export of a ReIDNet under the encoder contract, with an onnxruntime parity check.

Exporter: the TorchScript-based `torch.onnx.export(..., dynamo=False)`. Measured with torch 2.14.1
on these CNNs (see the trainer report): it honours opset 17 as asked, produces a graph with BN folded
into the convolutions and a dynamic batch axis from `dynamic_axes`, and exports MobileNetV2 in about
half a second. The dynamo exporter also works but only emits opset >= 18 (it up-converts and warns),
needs `dynamic_shapes` keyed by the forward's argument names, and is several times slower; parity and
onnxruntime speed were the same. The TorchScript exporter is deprecated upstream, so `exporter=
"dynamo"` is kept as a tested fallback for when it goes away.

Every export also writes a companion checkpoint `<name>.pt` (plain tensors, ints and strings only,
readable as plain tensors by `trainer.safe_load.load_plain`), from which `load_checkpoint` rebuilds
the model. A fine-tuned imported encoder (`trainer.networks.imported`) carries its source ONNX graph
as a uint8 tensor in the state dict, from which `load_checkpoint` rebuilds the same architecture.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import torch

from reid_desktop.core.encoders.contract import KEY_PROVENANCE, EncoderInfo, Outputs, Preprocess
from trainer.networks.reid_net import ONNX_BACKBONE, ReIDNet
from trainer.safe_load import PlainLoadError, load_plain

log = logging.getLogger(__name__)

INPUT_NAME, GLOBAL_NAME, MAP_NAME = "images", "global", "feature_map"
MIN_COSINE = 0.9999
TINY = 1e-4  # below this largest |global| the embedding is degenerate and cosine is noise
MAP_RTOL = 1e-3  # allowed max |Δ| of the feature map, relative to its largest magnitude (at least 1)
CHECKPOINT_FORMAT = "reid-desktop-checkpoint/1"


class ExportError(RuntimeError):
    """The exported graph disagrees with PyTorch (figures in `.figures`) or could not be written."""

    def __init__(self, message: str, figures: dict[str, float] | None = None) -> None:
        super().__init__(message)
        self.figures = figures or {}


class CheckpointError(RuntimeError):
    """A checkpoint file is unreadable, corrupt or not one of ours; the message says which."""


def _export_graph(view: torch.nn.Module, dummy: torch.Tensor, out: Path, opset: int, exporter: str) -> None:
    names = {"input_names": [INPUT_NAME], "output_names": [GLOBAL_NAME, MAP_NAME]}
    with warnings.catch_warnings():
        # the legacy exporter announces its deprecation on every call; that is known and noted above
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export.*")
        # band sizes become constants on purpose: the input size is fixed in an export
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        if exporter == "torchscript":
            axes = {n: {0: "batch"} for n in (INPUT_NAME, GLOBAL_NAME, MAP_NAME)}
            torch.onnx.export(
                view,
                (dummy,),
                str(out),
                dynamo=False,
                opset_version=opset,
                do_constant_folding=True,
                dynamic_axes=axes,
                **names,
            )
        elif exporter == "dynamo":
            prog = torch.onnx.export(
                view,
                (dummy,),
                dynamo=True,
                opset_version=max(opset, 18),
                dynamic_shapes=({0: torch.export.Dim("batch", min=1)},),
                verbose=False,
                **names,
            )
            prog.save(str(out), external_data=False)
        else:
            raise ValueError(f"unknown exporter {exporter!r}")


def _session(model_bytes: bytes) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL  # as the app runs it
    so.log_severity_level = 3
    return ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])


def parity_check(
    session: ort.InferenceSession, view: torch.nn.Module, images: torch.Tensor
) -> dict[str, float]:
    """Compare onnxruntime with PyTorch on `images`, as a batch and one crop alone (dynamic batch)."""
    with torch.no_grad():
        ref_g, ref_m = (t.numpy() for t in view(images))
    x = images.numpy()
    got_g, got_m = session.run([GLOBAL_NAME, MAP_NAME], {INPUT_NAME: x})
    one_g, _ = session.run([GLOBAL_NAME, MAP_NAME], {INPUT_NAME: x[:1]})
    finite = bool(np.isfinite(got_g).all() and np.isfinite(got_m).all())
    num = (ref_g * got_g).sum(1)
    den = np.linalg.norm(ref_g, axis=1) * np.linalg.norm(got_g, axis=1) + 1e-12
    cos = num / den
    return {
        "cosine_min": float(cos.min()) if finite else float("nan"),
        "global_max_abs_diff": float(np.abs(ref_g - got_g).max()) if finite else float("inf"),
        "global_max_abs": float(np.abs(ref_g).max()),
        "map_max_abs_diff": float(np.abs(ref_m - got_m).max()) if finite else float("inf"),
        "map_max_abs": float(np.abs(ref_m).max()),
        "single_vs_batch_max_abs_diff": float(np.abs(one_g[0] - got_g[0]).max()),
        "batch": int(len(x)),
        "finite": finite,
    }


def export_onnx(
    model: ReIDNet,
    path: Path,
    preprocess: Preprocess,
    provenance: dict[str, Any],
    *,
    parity_images: torch.Tensor | None = None,
    opset: int = 17,
    exporter: str = "torchscript",
    checkpoint: bool = True,
) -> Path:
    """Write `path` (and `path.with_suffix('.pt')`) only if onnxruntime reproduces PyTorch.

    `parity_images`: real preprocessed crops N×3×H×W (N >= 2 recommended); without them a fixed
    random batch is used. The parity figures are stored in `reid.provenance["parity"]`. The graph is
    written to `<path>.tmp` and renamed only after the check, so a failed export leaves no new file
    (and an older file at `path` untouched). The model's mode and device are restored afterwards.
    """
    path = Path(path)
    preprocess.validate()
    was_training = model.training
    device = next(model.parameters()).device  # restored afterwards: the caller may go on training
    view = model.export_module()
    tmp = path.with_name(path.name + ".tmp")
    try:
        if parity_images is None:
            gen = torch.Generator().manual_seed(0)
            parity_images = torch.randn(4, 3, preprocess.height, preprocess.width, generator=gen)
        images = parity_images.detach().to("cpu", torch.float32)
        if images.ndim != 4 or images.shape[1:] != (3, preprocess.height, preprocess.width):
            raise ExportError(
                f"parity images must be N×3×{preprocess.height}×{preprocess.width}, got {tuple(images.shape)}"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        model.cpu()
        _export_graph(view, images[:2].clone(), tmp, opset, exporter)
        proto = onnx.load(str(tmp))
        figures = parity_check(_session(proto.SerializeToString()), view, images)
        map_tol = MAP_RTOL * max(1.0, figures["map_max_abs"])
        glob_tol = MAP_RTOL * max(1.0, figures["global_max_abs"])
        # Cosine is meaningless for near-zero vectors (e.g. an untrained net): then demand that the
        # values themselves agree to float precision instead.
        tiny = figures["global_max_abs"] < TINY and figures["global_max_abs_diff"] <= TINY * 1e-2
        if tiny:
            log.warning(
                "%s: global embeddings are numerically tiny (max |x| %.2g); parity checked on "
                "absolute values",
                path.name,
                figures["global_max_abs"],
            )
        if not (
            figures["finite"]
            and (figures["cosine_min"] >= MIN_COSINE or tiny)
            and figures["map_max_abs_diff"] <= map_tol
            and figures["single_vs_batch_max_abs_diff"] <= glob_tol
        ):
            raise ExportError(
                f"ONNX parity check failed for {path.name}: min cosine {figures['cosine_min']:.6f} "
                f"(need >= {MIN_COSINE}), feature-map max |diff| {figures['map_max_abs_diff']:.3g} "
                f"(allowed {map_tol:.3g}), batch-1 vs batch-{figures['batch']} max |diff| "
                f"{figures['single_vs_batch_max_abs_diff']:.3g}; the file was not written",
                figures,
            )
        prov = {
            **provenance,
            "parity": {k: float(f"{v:.7g}") if isinstance(v, float) else v for k, v in figures.items()},
            "exporter": f"torch {torch.__version__.split('+')[0]} {exporter}",
            "opset": int(proto.opset_import[0].version),
        }
        info = EncoderInfo(preprocess, Outputs(GLOBAL_NAME, MAP_NAME, None, True), prov)
        del proto.metadata_props[:]
        for k, v in info.metadata().items():
            proto.metadata_props.add(key=k, value=v)
        onnx.save(proto, str(tmp))
        os.replace(tmp, path)
    except ExportError:
        tmp.unlink(missing_ok=True)
        raise
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        raise ExportError(f"exporting {path.name} failed: {type(exc).__name__}: {exc}") from exc
    finally:
        model.train(was_training)
        model.to(device)
    log.info(
        "exported %s (%.1f MB): min cosine %.7f, map max |diff| %.2g",
        path,
        path.stat().st_size / 1e6,
        figures["cosine_min"],
        figures["map_max_abs_diff"],
    )
    if checkpoint:
        meta = {"onnx": path.name, "preprocess": preprocess.to_json(), "provenance": json.dumps(prov)}
        save_checkpoint(model, path.with_suffix(".pt"), meta)
    return path


def parity_of(path: Path) -> dict[str, Any]:
    """The parity figures `export_onnx` recorded in an ONNX file's provenance ({} when absent)."""
    meta = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    try:
        return dict(json.loads(meta.get(KEY_PROVENANCE, "{}")).get("parity", {}))
    except (ValueError, AttributeError):
        return {}


def _plain(obj: Any) -> Any:
    """JSON-shaped copy (dict/list/str/int/float/bool/None): safe under weights_only=True."""
    return json.loads(json.dumps(obj, default=str))


def save_checkpoint(model: ReIDNet, path: Path, meta: dict[str, Any]) -> Path:
    path = Path(path)
    blob = {
        "format": CHECKPOINT_FORMAT,
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "config": _plain(model.config),
        "meta": _plain(meta),
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(blob, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: Path) -> ReIDNet:
    """Rebuild a ReIDNet (eval mode) from `save_checkpoint` output; `.checkpoint_meta` holds its meta."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        blob = load_plain(path)
    except PlainLoadError as exc:  # code inside, truncated, or not a PyTorch file: one line
        raise CheckpointError(str(exc)) from None
    if not isinstance(blob, dict) or blob.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path.name} is not a reid-desktop checkpoint (no {CHECKPOINT_FORMAT!r} tag)")
    cfg = blob.get("config")
    try:
        backbone = cfg.pop("backbone")
        if backbone == ONNX_BACKBONE:  # an imported encoder: its graph travels in the state dict
            cfg["graph"] = blob["state_dict"]["backbone.graph"].numpy().tobytes()
        model = ReIDNet(backbone, **cfg)
        model.load_state_dict(blob["state_dict"], strict=True)
    except (AttributeError, KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(
            f"{path.name} does not match its recorded architecture: {str(exc).splitlines()[0][:300]}"
        ) from None
    model.checkpoint_meta = blob.get("meta", {})
    return model.eval()
