"""Tiny random ONNX encoders built with onnx.helper, for tests that need a model (no downloads).

`small_cnn` writes a foreign-style model (fixed batch 1, no metadata) with switches for each way
an import can go wrong; `tiny_encoder` writes an already imported, contract-complete one.

The small CNN (H×W input, here 64×32):
    x → Conv 3→4 s2 → Relu = a1 (4×H/2×W/2)
    a1 → GAP → gate ─┬→ Conv1x1 4→4 → Sigmoid → Mul(a1) = a2         (a channel gate)
                     └→ Conv1x1 4→8 → Sigmoid ─┐                     (head gate, reuses it)
    a2 → Conv 4→8 s2 → Relu = map (8×H/4×W/4) → GAP ─→ Mul → Flatten → Gemm → embedding (dim)
Walking back from the output depth-first via the Mul's first input reaches the early gate's GAP
(whose input is 4×32×16); breadth-first reaches the final GAP over the 8×16×8 map first.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13


def small_cnn(
    path: Path,
    *,
    height: int = 64,
    width: int = 32,
    dim: int = 16,
    seed: int = 0,
    batch: int | str = 1,
    pool: str = "gap",  # gap | reducemean | avgpool | dwconv (learned, Intel-style) | none
    input_kind: str = "image",  # image | gray (N×1×H×W) | rank2 (N×F)
    batch_reshape: str | None = None,  # None | literal ([1, -1] constant) | computed (Concat of constants)
    out4d: bool = False,  # global output N×D×1×1 instead of N×D
    nan: bool = False,  # adds Log(-1): every output NaN
    constant: bool = False,  # multiplies the embedding by 0: same output for every image
    extra_output: bool = False,  # also outputs classifier logits, as many exports do
) -> Path:
    rng = np.random.default_rng(seed)
    inits: list[onnx.TensorProto] = []
    nodes: list[onnx.NodeProto] = []

    def w(name: str, *shape: int, scale: float | None = None) -> str:
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        std = scale if scale is not None else np.sqrt(2.0 / fan_in)
        inits.append(numpy_helper.from_array((rng.standard_normal(shape) * std).astype(np.float32), name))
        return name

    def const(name: str, value) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(op: str, inputs: list[str], out: str, **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    mh, mw = height // 4, width // 4
    if input_kind == "rank2":
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3 * height * width])
        feed = node("Reshape", ["x", const("img_shape", np.array([1, 3, height, width], np.int64))], "img")
    else:
        channels = 1 if input_kind == "gray" else 3
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, channels, height, width])
        feed = "x"
        if channels != 3:
            feed = node("Tile", ["x", const("rep", np.array([1, 3, 1, 1], np.int64))], "rgb")

    conv = dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2])
    c1 = node("Conv", [feed, w("c1.w", 4, 3, 3, 3), w("c1.b", 4, scale=0.1)], "c1", **conv)
    a1 = node("Relu", [c1], "a1")
    gate = node("GlobalAveragePool", [a1], "gate")
    s1 = node("Sigmoid", [node("Conv", [gate, w("g1.w", 4, 4, 1, 1)], "g1")], "s1")
    a2 = node("Mul", [a1, s1], "a2")
    c2 = node("Conv", [a2, w("c2.w", 8, 4, 3, 3), w("c2.b", 8, scale=0.1)], "c2", **conv)
    fmap = node("Relu", [c2], "map")

    if pool == "none":
        vec = node("Flatten", [fmap], "flat", axis=1)
        feat = 8 * mh * mw
    else:
        if pool == "gap":
            pooled = node("GlobalAveragePool", [fmap], "pooled")
        elif pool == "reducemean":
            pooled = node("ReduceMean", [fmap], "pooled", axes=[2, 3], keepdims=1)
        elif pool == "avgpool":
            pooled = node("AveragePool", [fmap], "pooled", kernel_shape=[mh, mw])
        elif pool == "dwconv":
            pooled = node("Conv", [fmap, w("gp.w", 8, 1, mh, mw)], "pooled", group=8, kernel_shape=[mh, mw])
        else:
            raise ValueError(pool)
        s2 = node("Sigmoid", [node("Conv", [gate, w("g2.w", 8, 4, 1, 1)], "g2")], "s2")
        gated = node("Mul", [s2, pooled], "gated")  # the gate first, so depth-first goes there
        feat = 8
        if out4d:
            vec = None
        elif batch_reshape == "literal":
            vec = node("Reshape", [gated, const("flat_shape", np.array([1, -1], np.int64))], "flat")
        elif batch_reshape == "computed":  # as torch exports of x.view(1, -1): not a literal to fix
            one = node("Constant", [], "one", value=numpy_helper.from_array(np.array([1], np.int64)))
            rest = node("Constant", [], "rest", value=numpy_helper.from_array(np.array([-1], np.int64)))
            vec = node("Reshape", [gated, node("Concat", [one, rest], "flat_shape", axis=0)], "flat")
        else:
            vec = node("Flatten", [gated], "flat", axis=1)

    out_shape: list[int | str] = [batch, dim]
    if out4d:
        emb = node("Conv", [gated, w("fc.w", dim, feat, 1, 1), w("fc.b", dim, scale=0.1)], "emb")
        out_shape = [batch, dim, 1, 1]
    else:
        emb = node("Gemm", [vec, w("fc.w", dim, feat), w("fc.b", dim, scale=0.1)], "emb", transB=1)
    if nan:
        emb = node("Add", [emb, node("Log", [const("neg", np.array([-1.0], np.float32))], "log")], "emb_nan")
    if constant:
        emb = node("Mul", [emb, const("zero", np.array([0.0], np.float32))], "emb_zero")
    embedding = node("Identity", [emb], "embedding")
    outputs = [helper.make_tensor_value_info(embedding, TensorProto.FLOAT, out_shape)]
    if extra_output:
        logits = node("Gemm", [embedding, w("cls.w", 5, dim)], "logits", transB=1)
        outputs.append(helper.make_tensor_value_info(logits, TensorProto.FLOAT, [batch, 5]))

    graph = helper.make_graph(nodes, "small_cnn", [x], outputs, initializer=inits)
    opsets = [helper.make_opsetid("", OPSET)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="onnx_factory")
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = Path(path)
    path.write_bytes(model.SerializeToString())
    return path


def tiny_encoder(
    path: Path,
    *,
    dynamic: bool = True,
    height: int = 64,
    width: int = 32,
    dim: int = 16,
    seed: int = 0,
) -> Path:
    """A contract-complete encoder (metadata, `feature_map` output 8×H/4×W/4) written to `path`.

    dynamic=False gives a model whose batch is fixed at 1 (metadata says `"batch": "fixed"`).
    """
    from reid_desktop.core.encoders.importer import import_model

    path = Path(path)
    src = path.with_name(path.stem + ".foreign.onnx")
    small_cnn(
        src, height=height, width=width, dim=dim, seed=seed, batch_reshape=None if dynamic else "computed"
    )
    try:
        import_model(src, path, overwrite=True)
    finally:
        src.unlink(missing_ok=True)
    return path


def not_onnx_bytes() -> bytes:
    return b"this is a text file someone renamed to .onnx\n" * 20


def truncated_onnx_bytes(path: Path) -> bytes:
    """The first half of a real ONNX file, as left by an interrupted download."""
    data = Path(path).read_bytes()
    return data[: len(data) // 2]


def with_op_on_map(path: Path, dst: Path, op: str = "Shrink") -> Path:
    """A copy of a contract-complete encoder with `op` (default Shrink, which onnx2torch cannot
    convert; with lambd = bias = 0 it passes its input through) inserted before the feature-map
    output, so onnxruntime still runs it."""
    model = onnx.load(str(path))
    meta = {p.key: p.value for p in model.metadata_props}
    import json

    map_name = json.loads(meta["reid.outputs"])["map"]
    for n in model.graph.node:
        n.output[:] = [f"{o}__pre" if o == map_name else o for o in n.output]
        n.input[:] = [f"{i}__pre" if i == map_name else i for i in n.input]
    model.graph.node.append(helper.make_node(op, [f"{map_name}__pre"], [map_name], name=f"{op.lower()}_map"))
    dst = Path(dst)
    dst.write_bytes(model.SerializeToString())
    return dst
