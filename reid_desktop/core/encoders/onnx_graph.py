"""Small ONNX graph edits used by the model importer: pooling search, batch axis, pruning.

Everything here works on `onnx.ModelProto` in place and knows nothing about files or the contract.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import AttributeProto, numpy_helper

log = logging.getLogger(__name__)

MAX_CANDIDATES = 64  # pooling nodes examined; real encoders put the final pool within a few hops


@dataclass(frozen=True)
class PoolCandidate:
    node: onnx.NodeProto
    map_name: str  # the tensor the node pools: the spatial map to expose
    depth: int  # node hops from the global output


def attr(node: onnx.NodeProto, name: str, default=None):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def initializer_names(graph: onnx.GraphProto) -> set[str]:
    return {i.name for i in graph.initializer}


def image_inputs(graph: onnx.GraphProto) -> list[onnx.ValueInfoProto]:
    """Graph inputs that are fed at run time (old IR versions also list initializers as inputs)."""
    inits = initializer_names(graph)
    return [i for i in graph.input if i.name not in inits]


def constant_array(graph: onnx.GraphProto, name: str) -> np.ndarray | None:
    """The value of an initializer or Constant-node output, else None (computed at run time)."""
    for init in graph.initializer:
        if init.name == name:
            return numpy_helper.to_array(init)
    for node in graph.node:
        if node.op_type == "Constant" and node.output and node.output[0] == name:
            value = attr(node, "value")
            return numpy_helper.to_array(value) if value is not None else None
    return None


def _structurally_pooling(graph: onnx.GraphProto, node: onnx.NodeProto) -> bool:
    """Could this node be a global spatial pooling? Shapes are checked later by `is_global_pool`."""
    op = node.op_type
    if op in ("GlobalAveragePool", "AveragePool"):
        return True
    if op == "ReduceMean":
        axes = attr(node, "axes")
        if axes is None and len(node.input) > 1:  # opset 18 moved axes to an input
            arr = constant_array(graph, node.input[1])
            axes = None if arr is None else arr.tolist()
        return axes is not None and {a % 4 for a in axes} == {2, 3} and attr(node, "keepdims", 1) == 1
    if op == "Conv":
        # A depthwise conv with one weight per pixel is a learned global pooling (the Intel encoder's
        # `global_avgpool`); its 3×3 padded cousins inside blocks are excluded by the zero pads.
        weight = constant_array(graph, node.input[1]) if len(node.input) > 1 else None
        pads = attr(node, "pads", [0, 0, 0, 0])
        return (
            weight is not None
            and weight.ndim == 4
            and weight.shape[1] == 1
            and attr(node, "group", 1) == weight.shape[0]
            and not any(pads)
            and attr(node, "auto_pad", b"NOTSET") in (b"NOTSET", b"VALID", "NOTSET", "VALID")
        )
    return False


def pooling_candidates(graph: onnx.GraphProto, start: str) -> list[PoolCandidate]:
    """Pooling-like nodes in breadth-first order walking producers back from tensor `start`.

    Breadth-first matters: encoders such as OSNet hold many GlobalAveragePool channel gates inside
    their blocks; depth-first would dive into the first branch and return a gate's input.
    """
    producer = {out: node for node in graph.node for out in node.output}
    inits = initializer_names(graph)
    found: list[PoolCandidate] = []
    seen_nodes: set[int] = set()
    queue: deque[tuple[str, int]] = deque([(start, 0)])
    seen_tensors = {start}
    while queue and len(found) < MAX_CANDIDATES:
        tensor, depth = queue.popleft()
        node = producer.get(tensor)
        if node is None or id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if _structurally_pooling(graph, node):
            found.append(PoolCandidate(node, node.input[0], depth))
        for name in node.input:
            if name and name not in inits and name not in seen_tensors:
                seen_tensors.add(name)
                queue.append((name, depth + 1))
    return found


def bypasses_pool(graph: onnx.GraphProto, cand: PoolCandidate, target: str) -> bool:
    """True when `target` is reachable from the candidate's map without going through the pooling.

    That is the signature of a channel gate (GAP → conv → sigmoid → Mul back onto the same map):
    the map flows on around it. The map feeding the final pooling reaches the embedding only
    through that pooling.
    """
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    seen = {cand.map_name}
    stack = [cand.map_name]
    while stack:
        tensor = stack.pop()
        if tensor == target:
            return True
        for node in consumers.get(tensor, []):
            if node is cand.node:
                continue
            for out in node.output:
                if out not in seen:
                    seen.add(out)
                    stack.append(out)
    return False


def is_global_pool(cand: PoolCandidate, map_shape: tuple[int, ...]) -> bool:
    """True when the candidate reduces a real N×C×h×w map to N×C×1×1.

    h, w ≥ 2 rules out normalisation helpers (the Intel model's rewritten GroupNorm reduces
    N×16×4×1 tensors with ReduceMean over axes 2, 3) that are not spatial maps at all.
    """
    if len(map_shape) != 4 or map_shape[2] < 2 or map_shape[3] < 2:
        return False
    h, w = map_shape[2], map_shape[3]
    node = cand.node
    if node.op_type == "AveragePool":
        return list(attr(node, "kernel_shape", [])) == [h, w] and not any(attr(node, "pads", [0]))
    if node.op_type == "Conv":
        return list(attr(node, "kernel_shape", [])) == [h, w] and attr(node, "group", 1) == map_shape[1]
    return True  # GlobalAveragePool, ReduceMean over axes 2, 3 with keepdims


def set_batch(model: onnx.ModelProto, dim: str | int) -> None:
    """Set axis 0 of the image input and all outputs; drop intermediate shapes that would be stale."""
    graph = model.graph
    for vi in [*image_inputs(graph), *graph.output]:
        dims = vi.type.tensor_type.shape.dim
        if len(dims) == 0:
            continue
        dims[0].Clear()
        if isinstance(dim, str):
            dims[0].dim_param = dim
        else:
            dims[0].dim_value = dim
    del graph.value_info[:]


def infer_shapes(model: onnx.ModelProto) -> onnx.ModelProto:
    """Redo intermediate shapes where onnx can; a model it cannot follow is returned unchanged."""
    try:
        return onnx.shape_inference.infer_shapes(model)
    except Exception as exc:  # inference is an optimisation for later tools, never required
        log.debug("shape inference skipped: %s", exc)
        return model


def copy_batch_in_reshapes(model: onnx.ModelProto) -> int:
    """Rewrite literal Reshape targets [1, ...] on batch-dependent data to [0, ...] (copy axis 0).

    PyTorch exports of `x.view(1, -1)`-style code bake the export batch into a constant; `0` keeps
    whatever batch arrives. Returns how many Reshapes changed; the caller must re-validate.
    """
    graph = model.graph
    dependent = {i.name for i in image_inputs(graph)}
    changed = 0
    for node in graph.node:  # ONNX requires topological order, so one pass propagates dependence
        if not any(name in dependent for name in node.input):
            continue
        dependent.update(node.output)
        if node.op_type != "Reshape" or len(node.input) < 2 or attr(node, "allowzero", 0) == 1:
            continue
        target = constant_array(graph, node.input[1])
        if target is None or target.ndim != 1 or target.size < 2 or target[0] != 1:
            continue
        fixed = target.astype(np.int64).copy()
        fixed[0] = 0
        name = unique_name(graph, f"{node.input[1]}_batch")
        graph.initializer.append(numpy_helper.from_array(fixed, name))
        node.input[1] = name  # a new constant: the old one may feed other nodes
        changed += 1
    return changed


def prune(model: onnx.ModelProto) -> None:
    """Drop nodes and initializers no output needs (e.g. a dropped classifier head)."""
    graph = model.graph
    if any(a.type in (AttributeProto.GRAPH, AttributeProto.GRAPHS) for n in graph.node for a in n.attribute):
        return  # subgraphs read outer names implicitly; not worth the risk
    needed = {o.name for o in graph.output}
    keep: list[onnx.NodeProto] = []
    for node in reversed(graph.node):
        if any(out in needed for out in node.output):
            keep.append(node)
            needed.update(name for name in node.input if name)
    keep.reverse()
    del graph.node[:]
    graph.node.extend(keep)
    inits = [i for i in graph.initializer if i.name in needed]
    unused_init_names = initializer_names(graph) - needed
    del graph.initializer[:]
    graph.initializer.extend(inits)
    inputs = [i for i in graph.input if i.name not in unused_init_names]
    del graph.input[:]
    graph.input.extend(inputs)


def unique_name(graph: onnx.GraphProto, base: str) -> str:
    taken = {i.name for i in graph.input} | initializer_names(graph)
    taken.update(name for node in graph.node for name in [*node.input, *node.output])
    taken.update(o.name for o in graph.output)
    name, k = base, 1
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    return name
