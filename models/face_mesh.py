"""MediaPipe's face-mesh network as a frozen torch module: a training signal that knows faces.

The sender's landmark model (`codec/prior/facemesh/assets/face_mesh.onnx`, Apache-2.0, see
its LICENSE there) was trained on a very large number of faces. Its backbone and its 468-point
head are plain convolutions, PReLUs (written as two grouped 1×1 convolutions around a ReLU),
additions and max-pools, so the same graph evaluated in torch is differentiable: the points it
finds on a generated frame can be compared with those on the true frame, and its activations
serve as a face-specific perceptual feature, without ImageNet weights. The weights come from
the committed file through `models/onnx_graph.py`; nothing here is trained.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from codec.prior.facemesh.runtime import ASSETS
from models.onnx_graph import Graph, Node, read_graph

SIZE = 192  # the network's input side
MESH_OUTPUT = "output_mesh_identity"
FLAG_OUTPUT = "conv_faceflag"
_OPS = {"Cast", "Conv", "Add", "Relu", "MaxPool", "Transpose", "Slice", "Identity"}


class FaceMeshNet(nn.Module):
    """(N, 3, 192, 192) RGB in [0, 1] -> 468 points (N, 468, 3) in input pixels, and the
    activations before each max-pool (96² ... 6²) as features."""

    def __init__(self, path: str | Path | None = None):
        super().__init__()
        graph = read_graph(path or ASSETS / "face_mesh.onnx")
        nodes = graph.needed_for([MESH_OUTPUT])
        unknown = {n.op for n in nodes} - _OPS
        if unknown:
            raise ValueError(f"face mesh graph uses operators this module lacks: {unknown}")
        self.nodes, names = _fold_constants(nodes, graph)
        self.taps = [n.inputs[0] for n in self.nodes if n.op == "MaxPool"]
        # the points head in fp32 under autocast: bf16 has 0.5 px steps at 100 px
        self.head = max(i for i, n in enumerate(self.nodes) if n.op == "Conv")
        self._buffer = {}
        for i, (name, value) in enumerate(names.items()):
            self.register_buffer(f"c{i}", torch.from_numpy(np.ascontiguousarray(value)),
                                 persistent=False)
            self._buffer[name] = f"c{i}"
        self.requires_grad_(False)
        self.eval()

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        if image.shape[-2:] != (SIZE, SIZE):
            raise ValueError(f"the face mesh takes {SIZE}² input, got {tuple(image.shape)}")
        values: dict[str, torch.Tensor] = {"image": image.permute(0, 2, 3, 1)}
        features = []
        for i, node in enumerate(self.nodes):
            args = [values[x] if x in values else getattr(self, self._buffer[x])
                    for x in node.inputs if x]
            if i == self.head:
                with torch.autocast(image.device.type, enabled=False):
                    values[node.outputs[0]] = _run(node, [a.float() for a in args])
            else:
                values[node.outputs[0]] = _run(node, args)
            if node.op == "MaxPool":
                features.append(args[0])
        points = values[MESH_OUTPUT].reshape(image.shape[0], 468, 3)
        return points, features


def _fold_constants(nodes: list[Node], graph: Graph) -> tuple[list[Node], dict]:
    """Casts of stored weights done once (fp16 -> fp32); the constants the rest reads."""
    constants = dict(graph.constants)
    kept = []
    for node in nodes:
        if node.op == "Cast" and node.inputs[0] in constants:
            constants[node.outputs[0]] = constants[node.inputs[0]].astype(np.float32)
        else:
            kept.append(node)
    used = {x for n in kept for x in n.inputs if x in constants}
    return kept, {k: constants[k] for k in sorted(used)}


def _run(node: Node, args: list[torch.Tensor]) -> torch.Tensor:
    a = node.attrs
    if node.op == "Conv":
        x = _pad(args[0], a.get("pads", [0, 0, 0, 0]))
        return F.conv2d(x, args[1], args[2] if len(args) > 2 else None,
                        a.get("strides", [1, 1]), 0, a.get("dilations", [1, 1]),
                        a.get("group", 1))
    if node.op == "MaxPool":
        return F.max_pool2d(_pad(args[0], a.get("pads", [0, 0, 0, 0])), a["kernel_shape"],
                            a["strides"])
    if node.op == "Add":
        return args[0] + args[1]
    if node.op == "Relu":
        return F.relu(args[0])
    if node.op == "Transpose":
        return args[0].permute(*a["perm"])
    if node.op == "Slice":
        return _slice(*args)
    if node.op == "Cast":
        return args[0].float()
    return args[0]  # Identity


def _pad(x: torch.Tensor, pads: list[int]) -> torch.Tensor:
    """ONNX pads [top, left, bottom, right] (zeros)."""
    top, left, bottom, right = pads
    return F.pad(x, (left, right, top, bottom)) if any(pads) else x


def _slice(x, starts, ends, axes=None, steps=None) -> torch.Tensor:
    """ONNX Slice with constant bounds, clamped as ONNX clamps them."""
    axes = axes.tolist() if axes is not None else list(range(len(starts)))
    steps = steps.tolist() if steps is not None else [1] * len(axes)
    index = [slice(None)] * x.dim()
    for axis, start, end, step in zip(axes, starts.tolist(), ends.tolist(), steps, strict=True):
        if axis == 0:
            continue  # the file was converted for batch 1; every sample keeps its row
        size = x.shape[axis]
        index[axis] = slice(max(-size, min(start, size)), max(-size - 1, min(end, size)), step)
    return x[tuple(index)]
