"""int8 static quantisation of a contract encoder (QDQ, per-channel weights), calibrated on real crops.

Static rather than dynamic: dynamic quantisation re-derives activation scales per call and only
covers MatMul-like ops well, so CNN encoders get slower, not faster. The result keeps both contract
outputs and the `reid.*` metadata, with the quantisation recorded in provenance.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

import numpy as np
import onnx

from reid_desktop.core.encoders.contract import KEY_PROVENANCE, ContractError, EncoderInfo
from reid_desktop.core.encoders.importer import write_atomic
from reid_desktop.core.encoders.preprocess import to_tensor
from reid_desktop.core.encoders.probe import ort_session, run_batched
from reid_desktop.core.imaging import BadImage, load_rgb

log = logging.getLogger(__name__)

MIN_IMAGES = 10
QUANTIZED_TAG = "int8-static-qdq-per-channel"
CALIB_BATCH = 16
CHECK_IMAGES = 32  # images compared fp32 vs int8 for the provenance note
QDQ_OPSET = 13  # per-channel QuantizeLinear (axis attribute) needs opset 13
# Activation type (QuantType member name); weights are always QInt8 per channel. Chosen by timing
# fp32 vs both options on the Intel encoder with a 2-core x86 CPU, onnxruntime 1.32.
ACTIVATIONS = "QUInt8"


def quantize_int8(
    src: Path,
    dst: Path,
    calibration_images: list[Path],
    *,
    max_images: int = 200,
    overwrite: bool = False,
) -> Path:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    src, dst = Path(src), Path(dst)
    if dst.exists() and not overwrite:
        raise ContractError(f"{dst} already exists; choose another name or allow overwriting")
    try:
        model = onnx.load(str(src))
    except Exception as exc:
        raise ContractError(f"not a valid ONNX model ({exc})") from None
    info = EncoderInfo.from_metadata({p.key: p.value for p in model.metadata_props})
    x = _calibration_batch(calibration_images, info, max_images)
    input_name = _input_name(model)

    with tempfile.TemporaryDirectory(prefix="reid-quant-") as tmp:
        fp32 = _prepare(model, Path(tmp))
        out = Path(tmp) / "int8.onnx"
        try:
            quantize_static(
                str(fp32),
                str(out),
                _Reader(input_name, x, info.outputs.dynamic_batch),
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                weight_type=QuantType.QInt8,
                activation_type=getattr(QuantType, ACTIVATIONS),
                calibrate_method=CalibrationMethod.MinMax,
            )
        except Exception as exc:  # the quantiser raises bare Exceptions and ValueErrors alike
            raise ContractError(f"int8 quantisation failed ({type(exc).__name__}: {exc})") from None
        qmodel = onnx.load(str(out))

    cosine = _check(model, qmodel, input_name, x[:CHECK_IMAGES], info)
    provenance = {
        **info.provenance,
        "quantized": QUANTIZED_TAG,
        "int8_calibration_images": len(x),
        "int8_mean_cosine_vs_fp32": round(cosine, 4),
    }
    meta = {p.key: p.value for p in model.metadata_props}
    meta[KEY_PROVENANCE] = json.dumps(provenance, sort_keys=True)
    del qmodel.metadata_props[:]
    _drop_unused_domains(qmodel)
    onnx.helper.set_model_props(qmodel, meta)
    write_atomic(qmodel.SerializeToString(), dst, overwrite)
    log.info(
        "quantised %s → %s (%d calibration crops, mean cosine vs fp32 %.4f)", src.name, dst, len(x), cosine
    )
    return dst


def _input_name(model: onnx.ModelProto) -> str:
    inits = {i.name for i in model.graph.initializer}
    return next(i.name for i in model.graph.input if i.name not in inits)


def _calibration_batch(paths: list[Path], info: EncoderInfo, max_images: int) -> np.ndarray:
    """Up to max_images crops, spread evenly over the list (folders are often sorted by person)."""
    paths = list(paths)
    if len(paths) > max_images:
        idx = np.linspace(0, len(paths) - 1, max_images).round().astype(int)
        paths = [paths[i] for i in idx]
    images = []
    for path in paths:
        try:
            images.append(load_rgb(path))
        except BadImage as exc:
            log.warning("calibration crop %s skipped: %s", Path(path).name, exc)
    if len(images) < MIN_IMAGES:
        raise ContractError(
            f"int8 calibration needs at least {MIN_IMAGES} usable crops, got {len(images)}; "
            "give it a folder of typical crops from your cameras (100-200 is good)"
        )
    return to_tensor(images, info.preprocess)


def _prepare(model: onnx.ModelProto, tmp: Path) -> Path:
    """Opset ≥ 13, then onnxruntime's pre-processing (fold, fuse, shapes) when it works on this model."""
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset < QDQ_OPSET:
        try:
            model = onnx.version_converter.convert_version(model, QDQ_OPSET)
        except Exception as exc:
            msg = f"cannot convert the model from opset {opset} to {QDQ_OPSET} ({exc})"
            raise ContractError(msg) from None
    raw = tmp / "fp32.onnx"
    onnx.save(model, str(raw))
    pre = tmp / "fp32-pre.onnx"
    try:
        from onnxruntime.quantization.shape_inference import quant_pre_process

        quant_pre_process(str(raw), str(pre))
        return pre
    except Exception as exc:  # an optimisation only; the quantiser runs without it
        log.info("quantisation pre-processing skipped: %s", exc)
        return raw


class _Reader:
    """Feeds the calibration tensors in batches (one at a time for fixed-batch models)."""

    def __init__(self, input_name: str, x: np.ndarray, dynamic: bool) -> None:
        step = CALIB_BATCH if dynamic else 1
        self._batches = iter([{input_name: x[i : i + step]} for i in range(0, len(x), step)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._batches, None)

    def rewind(self) -> None:  # part of the CalibrationDataReader protocol; one pass is enough
        pass


def _check(fp32: onnx.ModelProto, int8: onnx.ModelProto, input_name: str, x: np.ndarray, info) -> float:
    """Both contract outputs present and finite; returns the mean fp32-vs-int8 cosine of the global."""
    wanted = [n for n in (info.outputs.global_name, info.outputs.map_name) if n]
    names = [o.name for o in int8.graph.output]
    if any(n not in names for n in wanted):
        raise ContractError(f"the quantised model lost contract outputs: has {names}, needs {wanted}")
    dyn = info.outputs.dynamic_batch
    q = run_batched(ort_session(int8.SerializeToString()), input_name, x, dyn)
    f = run_batched(ort_session(fp32.SerializeToString()), input_name, x, dyn)
    qg, fg = q[names.index(wanted[0])], f[[o.name for o in fp32.graph.output].index(wanted[0])]
    if not all(np.all(np.isfinite(v)) for v in q):
        raise ContractError("the quantised model's outputs are not finite; keep the fp32 model")
    cos = np.sum(qg * fg, axis=1) / (np.linalg.norm(qg, axis=1) * np.linalg.norm(fg, axis=1) + 1e-12)
    mean = float(cos.mean())
    if mean < 0.9:
        log.warning("int8 embeddings differ from fp32 (mean cosine %.3f); prefer the fp32 model", mean)
    return mean


def _drop_unused_domains(model: onnx.ModelProto) -> None:
    """The pre-processor's save lists every domain onnxruntime knows; keep the ones in use."""
    used = {n.domain for n in model.graph.node} | {""}
    keep = [o for o in model.opset_import if o.domain in used or o.domain == "ai.onnx"]
    del model.opset_import[:]
    model.opset_import.extend(keep)
