"""`reid import-model`: turn a foreign re-ID ONNX file into one that meets the encoder contract.

Steps: check the image input, expose the spatial map that feeds the final global pooling as an
extra output, make the batch axis dynamic (verified, with a batch-1 fallback), record preprocessing
and provenance in metadata, and validate on a probe batch. Nothing is written unless all of it
passes; the destination appears atomically (temp file in the same folder, then rename).
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from reid_desktop.core.encoders import onnx_graph as og
from reid_desktop.core.encoders.contract import (
    KEY_OUTPUTS,
    KEY_PREPROCESS,
    KEY_PROVENANCE,
    ContractError,
    EncoderInfo,
    Outputs,
    Preprocess,
)
from reid_desktop.core.encoders.preprocess_options import PreprocessOptions, resolve_preprocess
from reid_desktop.core.encoders.probe import make_probe_batch, ort_session, run_batched, validate_outputs

log = logging.getLogger(__name__)

MAP_OUTPUT = "feature_map"
FLAT_OUTPUT = "global_embedding"
BATCH_ATOL = 1e-4
NOT_IMAGE = "its input is not an image tensor (N×3×H×W float)"
WARN_FIXED = "batch axis could not be made dynamic; runs batch 1"
WARN_NO_MAP = "no spatial map found: stripes disabled"


@dataclass(frozen=True)
class ImportReport:
    dst: Path
    info: EncoderInfo
    input_name: str
    global_dim: int
    map_shape: tuple[int, int, int] | None  # C, h, w of the tapped feature map (None if none)
    dynamic_batch: bool
    sha256: str  # of the written file
    warnings: list[str]


def import_model(
    src: Path,
    dst: Path,
    preprocess: PreprocessOptions | Preprocess | None = None,
    *,
    probe_images: list[Path] | None = None,
    overwrite: bool = False,
) -> ImportReport:
    """preprocess: what the operator stated; `resolve_preprocess` fills the rest from the model."""
    src, dst = Path(src), Path(dst)
    _check_destination(src, dst, overwrite)
    data = _read(src)
    model = _parse(data, src)
    inp = _image_input(model)
    pre, warnings = resolve_preprocess(preprocess, _model_size(inp))
    probe, probe_warnings = make_probe_batch(probe_images, pre)
    warnings += probe_warnings

    global_name, global_shape, cand, map_shape = _inspect(model, inp.name, probe[:1])
    if cand is None:
        warnings.append(WARN_NO_MAP)
    global_out, map_out, dropped = _rewire_outputs(model, global_name, global_shape, cand, map_shape)
    warnings += [f"output {name!r} is not part of the contract and was dropped" for name in dropped]

    model, dynamic, batch_fixes = _make_batch_dynamic(model, inp.name, probe)
    if not dynamic:
        warnings.append(WARN_FIXED)
    provenance = {
        "source": src.name,
        "source_sha256": hashlib.sha256(data).hexdigest(),
        "importer": "reid import-model",
        "imported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "opset": _opset(model),
        "map_tensor": cand.map_name if cand else None,
        "map_pooled_by": cand.node.op_type if cand else None,
        "batch_reshapes_fixed": batch_fixes,
        "warnings": list(warnings),
    }
    info = EncoderInfo(pre, Outputs(global_out, map_out, None, dynamic), provenance)
    _set_metadata(model, info.metadata())
    blob = model.SerializeToString()

    expect = {global_out: (int(global_shape[1]),)}
    if map_out:
        expect[map_out] = tuple(map_shape[1:])
    validate_outputs(ort_session(blob), inp.name, probe, expect, dynamic)
    digest = write_atomic(blob, dst, overwrite)
    log.info("imported %s → %s (map %s, batch %s)", src.name, dst, map_shape, "dynamic" if dynamic else "1")
    return ImportReport(
        dst,
        info,
        inp.name,
        int(global_shape[1]),
        tuple(int(d) for d in map_shape[1:]) if map_out else None,
        dynamic,
        digest,
        warnings,
    )


def _check_destination(src: Path, dst: Path, overwrite: bool) -> None:
    if dst.exists() and not overwrite:
        raise ContractError(f"{dst} already exists; choose another name or allow overwriting")
    if dst.exists() and src.exists() and dst.resolve() == src.resolve():
        raise ContractError("the destination is the source file; write the imported model elsewhere")


def _read(src: Path) -> bytes:
    try:
        return src.read_bytes()
    except OSError as exc:
        raise ContractError(f"cannot read {src}: {exc.strerror or exc}") from None


def _parse(data: bytes, src: Path) -> onnx.ModelProto:
    try:
        model = onnx.load_model_from_string(data)
    except Exception as exc:  # protobuf raises DecodeError for garbage and truncation
        raise ContractError(f"not a valid ONNX model ({type(exc).__name__}: {exc})") from None
    if not model.graph.node or not model.graph.output:
        raise ContractError("not a valid ONNX model (no graph: the file is empty or not ONNX)")
    try:
        onnx.external_data_helper.load_external_data_for_model(model, str(src.parent))
        onnx.checker.check_model(model)
    except Exception as exc:
        raise ContractError(f"not a valid ONNX model ({exc})") from None
    return model


def _image_input(model: onnx.ModelProto) -> onnx.ValueInfoProto:
    inputs = og.image_inputs(model.graph)
    if len(inputs) != 1:
        names = ", ".join(i.name for i in inputs)
        raise ContractError(f"{NOT_IMAGE}: it has {len(inputs)} inputs ({names}), an encoder takes one")
    inp = inputs[0]
    tt = inp.type.tensor_type
    dims = tt.shape.dim
    if tt.elem_type != TensorProto.FLOAT or len(dims) != 4 or dims[1].dim_value != 3:
        shown = "×".join(d.dim_param or str(d.dim_value) for d in dims) or "unknown shape"
        kind = TensorProto.DataType.Name(tt.elem_type) if tt.elem_type else "non-tensor"
        raise ContractError(f"{NOT_IMAGE}; input {inp.name!r} is {kind} {shown}")
    if dims[0].dim_value > 1:
        raise ContractError(
            f"the model's batch is fixed at {dims[0].dim_value}; only 1 or dynamic is supported"
        )
    return inp


def _model_size(inp: onnx.ValueInfoProto) -> tuple[int, int]:
    """The input's fixed (H, W); 0 where a dimension is symbolic."""
    dims = inp.type.tensor_type.shape.dim
    return dims[2].dim_value, dims[3].dim_value


def _inspect(model: onnx.ModelProto, input_name: str, x: np.ndarray):
    """Run once with every pooling candidate's input exposed: global output shape and the map."""
    global_name = model.graph.output[0].name
    candidates = og.pooling_candidates(model.graph, global_name)
    probe_model = copy.deepcopy(model)
    del probe_model.graph.value_info[:]  # stale or partial shapes would clash with the extra outputs
    extra = list(dict.fromkeys(c.map_name for c in candidates if c.map_name != global_name))
    probe_model.graph.output.extend(helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in extra)
    try:
        sess = ort_session(probe_model.SerializeToString())
        values = run_batched(sess, input_name, x, dynamic=False)
    except ContractError:
        if not extra:
            raise
        log.info("probing with %d candidate maps failed; retrying without them", len(extra))
        sess = ort_session(model.SerializeToString())
        values = run_batched(sess, input_name, x, dynamic=False)
        candidates = []
    by_name = {o.name: v for o, v in zip(sess.get_outputs(), values, strict=True)}
    g = by_name[global_name]
    if not np.all(np.isfinite(g)):
        raise ContractError(
            "the model's outputs are not finite (NaN or Inf) on the probe images; onnxruntime cannot "
            "compute this model as published, so it cannot be used"
        )
    if g.dtype != np.float32 or not (g.ndim == 2 or (g.ndim == 4 and g.shape[2:] == (1, 1))):
        raise ContractError(
            f"its first output {global_name!r} is not an embedding (N×D float): shape {g.shape}, {g.dtype}"
        )
    shapes = {name: v.shape for name, v in by_name.items()}
    for cand in candidates:
        if not og.is_global_pool(cand, shapes[cand.map_name]):
            continue
        if not og.bypasses_pool(model.graph, cand, global_name):
            log.info(
                "feature map %r %s (input of %s, %d hops from the output)",
                cand.map_name,
                shapes[cand.map_name],
                cand.node.op_type,
                cand.depth,
            )
            return global_name, g.shape, cand, shapes[cand.map_name]
    return global_name, g.shape, None, None


def _rewire_outputs(model, global_name, global_shape, cand, map_shape) -> tuple[str, str | None, list[str]]:
    """Outputs become [global N×D, feature map N×C×h×w]; anything else is dropped."""
    graph = model.graph
    dropped = [o.name for o in graph.output[1:]]
    del graph.output[:]
    global_out = global_name
    if len(global_shape) == 4:  # N×D×1×1: flatten so the contract output is N×D
        global_out = og.unique_name(graph, FLAT_OUTPUT)
        graph.node.append(helper.make_node("Flatten", [global_name], [global_out], axis=1, name=global_out))
    dim = int(global_shape[1])
    graph.output.append(helper.make_tensor_value_info(global_out, TensorProto.FLOAT, [1, dim]))
    map_out = None
    if cand is not None:
        map_out = og.unique_name(graph, MAP_OUTPUT)
        graph.node.append(helper.make_node("Identity", [cand.map_name], [map_out], name=map_out))
        graph.output.append(helper.make_tensor_value_info(map_out, TensorProto.FLOAT, [1, *map_shape[1:]]))
    og.prune(model)
    return global_out, map_out, dropped


def _make_batch_dynamic(model: onnx.ModelProto, input_name: str, probe: np.ndarray):
    """(model, dynamic, reshapes fixed). Dynamic only if batch 2 matches two runs of batch 1."""
    attempt = copy.deepcopy(model)
    og.set_batch(attempt, "N")
    if _same_per_sample(attempt, input_name, probe):
        return og.infer_shapes(attempt), True, 0
    fixes = og.copy_batch_in_reshapes(attempt)
    og.prune(attempt)  # the replaced shape constants
    if fixes and _same_per_sample(attempt, input_name, probe):
        log.info("made the batch dynamic by rewriting %d Reshape(s) that hard-coded batch 1", fixes)
        return og.infer_shapes(attempt), True, fixes
    og.set_batch(model, 1)
    return og.infer_shapes(model), False, 0


def _same_per_sample(model: onnx.ModelProto, input_name: str, probe: np.ndarray) -> bool:
    x = probe[:2]
    try:
        sess = ort_session(model.SerializeToString())
        both = sess.run(None, {input_name: x})
        singles = [sess.run(None, {input_name: x[i : i + 1]}) for i in range(len(x))]
    except Exception as exc:  # a batch-1 constant somewhere: shape errors at run time
        log.info("batch %d does not run: %s", len(x), str(exc).splitlines()[0][:200])
        return False
    for k, out in enumerate(both):
        single = np.concatenate([s[k] for s in singles])
        if out.shape != single.shape or not np.allclose(out, single, rtol=BATCH_ATOL, atol=BATCH_ATOL):
            log.info("batch %d gives different results from batch 1 (output %d)", len(x), k)
            return False
    return True


def _opset(model: onnx.ModelProto) -> int | None:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)


def _set_metadata(model: onnx.ModelProto, meta: dict[str, str]) -> None:
    keep = [p for p in model.metadata_props if p.key not in (KEY_PREPROCESS, KEY_OUTPUTS, KEY_PROVENANCE)]
    del model.metadata_props[:]
    model.metadata_props.extend(keep)
    onnx.helper.set_model_props(model, {**{p.key: p.value for p in keep}, **meta})


def write_atomic(blob: bytes, dst: Path, overwrite: bool) -> str:
    """Write via a temp file in dst's folder and rename, so dst is either complete or absent."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.parent / f".{dst.name}.{secrets.token_hex(4)}.tmp"
    # os.open with 0o666 honours the umask, unlike mkstemp's owner-only 0o600
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        if dst.exists() and not overwrite:  # appeared while we worked
            raise ContractError(f"{dst} already exists; choose another name or allow overwriting")
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return hashlib.sha256(blob).hexdigest()


def describe(report: ImportReport) -> str:
    """One JSON line for logs and the CLI."""
    return json.dumps(
        {
            "dst": str(report.dst),
            "input": report.input_name,
            "global_dim": report.global_dim,
            "map_shape": report.map_shape,
            "dynamic_batch": report.dynamic_batch,
            "sha256": report.sha256,
            "warnings": report.warnings,
        }
    )
