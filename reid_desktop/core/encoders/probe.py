"""Running candidate models on a probe batch with onnxruntime (CPU), with readable failures."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PIL import Image

from reid_desktop.core.encoders.contract import ContractError, Preprocess
from reid_desktop.core.encoders.preprocess import to_tensor
from reid_desktop.core.imaging import BadImage, load_rgb

log = logging.getLogger(__name__)

MAX_PROBE = 16
SYNTHETIC = 4
CHUNK = 32


def ort_session(blob: bytes, threads: int = 0):
    """A CPU session; errors become ContractError with what the user can do about them."""
    import onnxruntime as ort  # deferred: importing it costs ~0.3 s on the CLI's hot path

    so = ort.SessionOptions()
    # Fatal only: failures reach the user as exceptions; batch probing fails on purpose.
    so.log_severity_level = 4
    if threads:
        so.intra_op_num_threads = threads
    try:
        return ort.InferenceSession(blob, so, providers=["CPUExecutionProvider"])
    except Exception as exc:
        kind = type(exc).__name__
        msg = str(exc).splitlines()[0][:300]
        if kind in ("InvalidProtobuf", "InvalidGraph"):
            raise ContractError(f"not a valid ONNX model (onnxruntime: {msg})") from None
        if kind == "NotImplemented":
            raise ContractError(f"the model uses an operator onnxruntime does not support ({msg})") from None
        raise ContractError(f"onnxruntime cannot load the model ({msg})") from None


def run_batched(sess, input_name: str, x: np.ndarray, dynamic: bool) -> list[np.ndarray]:
    """All outputs for all samples: whole chunks when the batch is dynamic, else one at a time."""
    step = CHUNK if dynamic else 1
    parts: list[list[np.ndarray]] = []
    try:
        for i in range(0, len(x), step):
            parts.append(sess.run(None, {input_name: x[i : i + step]}))
    except Exception as exc:
        msg = str(exc).splitlines()[0][:300]
        raise ContractError(f"onnxruntime fails to run the model on the probe batch ({msg})") from None
    return [np.concatenate([p[k] for p in parts]) for k in range(len(parts[0]))]


def validate_outputs(
    sess,
    input_name: str,
    probe: np.ndarray,
    expect: dict[str, tuple[int, ...]],
    dynamic: bool,
) -> list[np.ndarray]:
    """Outputs are as recorded, finite, and the first (global) one depends on the image."""
    names = [o.name for o in sess.get_outputs()]
    if names != list(expect):
        raise ContractError(f"the rewritten model has outputs {names}, expected {list(expect)}")
    values = run_batched(sess, input_name, probe, dynamic)
    for (name, tail), v in zip(expect.items(), values, strict=True):
        if not np.all(np.isfinite(v)):
            raise ContractError(
                f"output {name!r} is not finite (NaN or Inf) on the probe images; onnxruntime cannot "
                "compute this model as published, so it cannot be used"
            )
        if v.shape != (len(probe), *tail):
            raise ContractError(f"output {name!r} has shape {v.shape}, expected {(len(probe), *tail)}")
    g = values[0].astype(np.float64)
    spread = np.abs(g - g[0]).max()
    if spread <= 1e-6 * max(np.abs(g).max(), 1e-12):
        raise ContractError(
            f"the global embedding {names[0]!r} is the same for {len(probe)} different probe images; "
            "the model does not look at its input"
        )
    return values


def make_probe_batch(paths: list[Path] | None, p: Preprocess) -> tuple[np.ndarray, list[str]]:
    """Preprocessed probe crops (at most MAX_PROBE); synthetic ones fill in when fewer than two."""
    images: list[Image.Image] = []
    warnings: list[str] = []
    for path in (paths or [])[:MAX_PROBE]:
        try:
            images.append(load_rgb(path))
        except BadImage as exc:
            warnings.append(f"probe image {Path(path).name} skipped: {exc}")
    if len(images) < 2:
        if paths:
            warnings.append("too few usable probe images; validated on synthetic images")
        images += synthetic_images(SYNTHETIC, p.width, p.height)
    return to_tensor(images, p), warnings


def synthetic_images(n: int, width: int, height: int, seed: int = 0) -> list[Image.Image]:
    """Deterministic, mutually different crops: colour gradients, blocks and noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    out = []
    for i in range(n):
        c0, c1 = rng.uniform(20, 235, size=(2, 3))
        t = (yy / max(height - 1, 1))[..., None]
        img = c0 * (1 - t) + c1 * t
        top = int(rng.integers(0, height // 2))
        img[top : top + height // 3, width // 4 : 3 * width // 4] = rng.uniform(0, 255, size=3)
        img += rng.normal(0, 8 + 4 * i, size=img.shape) + 10 * np.sin(xx / (3 + i))[..., None]
        out.append(Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB"))
    return out
