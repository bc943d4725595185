"""The encoder runtime: an ONNX re-ID model on the best onnxruntime execution provider.

Outputs a global embedding per crop and K stripe embeddings pooled from the model's feature map
(horizontal bands, DESIGN.md §1A), following the metadata of the encoder contract.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

from reid_desktop.core.encoders.contract import ContractError, EncoderInfo
from reid_desktop.core.encoders.preprocess import to_tensor

log = logging.getLogger(__name__)

# Preferred order; only those installed in this onnxruntime build are tried.
PROVIDER_PREFERENCE = (
    "CUDAExecutionProvider",
    "DmlExecutionProvider",
    "CoreMLExecutionProvider",
    "OpenVINOExecutionProvider",
    "CPUExecutionProvider",
)
DEFAULT_STRIPES = 8
PROVIDER_LABELS = {
    "CUDAExecutionProvider": "GPU (CUDA)",
    "DmlExecutionProvider": "GPU (DirectML)",
    "CoreMLExecutionProvider": "Apple CoreML",
    "OpenVINOExecutionProvider": "OpenVINO",
    "CPUExecutionProvider": "CPU",
}


@dataclass(frozen=True)
class Embeddings:
    global_: np.ndarray  # N×D float32, as the model produced it (normalise before cosine)
    stripes: np.ndarray | None  # N×K×d float32 or None when the model has no spatial map


def pool_stripes(feature_map: np.ndarray, k: int) -> np.ndarray:
    """Average an N×C×h×w map over K horizontal bands (rows split as evenly as possible)."""
    n, c, h, w = feature_map.shape
    k = min(k, h)
    bounds = np.linspace(0, h, k + 1).round().astype(int)
    rows = feature_map.mean(axis=3)  # N×C×h
    out = np.stack([rows[:, :, a:b].mean(axis=2) for a, b in zip(bounds[:-1], bounds[1:], strict=True)], 1)
    return out.astype(np.float32, copy=False)  # N×K×C


def available_providers() -> list[str]:
    have = set(ort.get_available_providers())
    return [p for p in PROVIDER_PREFERENCE if p in have]


@functools.cache
def _preload_cuda() -> None:
    """onnxruntime-gpu's CUDA provider links CUDA and cuDNN without a search path of its own; its
    preload_dlls() loads them from the nvidia/ folders PyTorch's wheels installed (in a venv) or
    that the CUDA bundle carries (the same layout). Without a GPU or driver, the provider then
    fails to start and EncoderRuntime.load falls back, saying so."""
    preload = getattr(ort, "preload_dlls", None)
    if preload is None:
        return
    said = io.StringIO()
    try:
        with contextlib.redirect_stdout(said):  # it prints; keep `reid ... --json` output clean
            preload()
    except Exception as exc:  # never fatal: the CPU provider remains
        log.info("onnxruntime.preload_dlls failed: %s", exc)
    if said.getvalue().strip():
        log.info("onnxruntime.preload_dlls: %s", said.getvalue().strip())


def _session_options(threads: int | None) -> ort.SessionOptions:
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads or (os.cpu_count() or 1)
    so.log_severity_level = 3
    return so


@dataclass
class EncoderRuntime:
    """Load with `Encoder.load(path)`; `encode(images)` returns Embeddings."""

    path: Path
    session: ort.InferenceSession
    info: EncoderInfo
    stripes: int = DEFAULT_STRIPES
    notes: list[str] = field(default_factory=list)  # things the user should be told

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        stripes: int = DEFAULT_STRIPES,
        providers: list[str] | None = None,
        threads: int | None = None,
    ) -> EncoderRuntime:
        p = Path(path)
        if not p.is_file():
            raise ContractError(f"model file {p} does not exist")
        wanted = providers or available_providers()
        notes: list[str] = []
        session = None
        installed = set(ort.get_available_providers())
        if "CUDAExecutionProvider" in installed and "CUDAExecutionProvider" in wanted:
            _preload_cuda()
        for i, provider in enumerate(wanted):
            if provider not in installed:
                notes.append(
                    f"{PROVIDER_LABELS.get(provider, provider)} is not available in this "
                    "onnxruntime build; falling back"
                )
                continue
            try:
                session = ort.InferenceSession(str(p), _session_options(threads), providers=[provider])
            except Exception as exc:  # a GPU provider can fail for driver reasons
                if provider == "CPUExecutionProvider":
                    raise ContractError(f"onnxruntime cannot load {p.name}: {exc}") from None
                notes.append(
                    f"{PROVIDER_LABELS.get(provider, provider)} failed to initialise "
                    f"({str(exc).splitlines()[0][:160]}); falling back"
                )
                continue
            if session.get_providers()[0] != provider and i + 1 < len(wanted):
                notes.append(f"{PROVIDER_LABELS.get(provider, provider)} is not usable here; falling back")
                session = None
                continue
            break
        if session is None:
            raise ContractError(f"no execution provider could load {p.name}")
        meta = session.get_modelmeta().custom_metadata_map
        info = EncoderInfo.from_metadata(meta)
        names = {o.name for o in session.get_outputs()}
        for needed in (info.outputs.global_name, info.outputs.map_name, info.outputs.stripes_name):
            if needed and needed not in names:
                raise ContractError(f"{p.name} declares output {needed!r} but the graph has no such output")
        enc = cls(p, session, info, stripes, notes)
        if info.outputs.map_name:
            h = session.get_outputs()[
                [o.name for o in session.get_outputs()].index(info.outputs.map_name)
            ].shape[2]
            if isinstance(h, int) and h < stripes:
                enc.notes.append(f"the feature map has only {h} rows; using {h} stripes instead of {stripes}")
        elif not info.outputs.stripes_name:
            enc.notes.append("the model has no spatial map: stripe heatmaps are unavailable")
        for n in enc.notes:
            log.warning("%s: %s", p.name, n)
        return enc

    @property
    def provider(self) -> str:
        return self.session.get_providers()[0]

    @property
    def provider_label(self) -> str:
        return PROVIDER_LABELS.get(self.provider, self.provider)

    @property
    def fixed_batch(self) -> bool:
        return not self.info.outputs.dynamic_batch

    @property
    def input_name(self) -> str:
        return self.session.get_inputs()[0].name

    def _outputs(self) -> list[str]:
        o = self.info.outputs
        return [n for n in (o.global_name, o.map_name or o.stripes_name) if n]

    def encode_tensor(self, x: np.ndarray) -> Embeddings:
        names = self._outputs()
        if self.fixed_batch and len(x) > 1:
            parts = [self.session.run(names, {self.input_name: x[i : i + 1]}) for i in range(len(x))]
            outs = [np.concatenate([p[j] for p in parts]) for j in range(len(names))]
        else:
            outs = self.session.run(names, {self.input_name: x})
        glob = np.asarray(outs[0], dtype=np.float32).reshape(len(x), -1)
        stripes = None
        if self.info.outputs.map_name:
            stripes = pool_stripes(np.asarray(outs[1], dtype=np.float32), self.stripes)
        elif self.info.outputs.stripes_name:
            stripes = np.asarray(outs[1], dtype=np.float32)
        return Embeddings(glob, stripes)

    def encode(self, images: list[Image.Image]) -> Embeddings:
        return self.encode_tensor(to_tensor(images, self.info.preprocess))
