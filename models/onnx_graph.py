"""Read an ONNX file's graph without the `onnx` package: nodes, attributes and constants.

The converted MediaPipe face mesh (`codec/prior/facemesh/assets/face_mesh.onnx`) is the one
file read this way, to run its backbone in torch for the face-aware training losses. ONNX is
protocol buffers; this decodes only the fields a graph of plain operators needs (ModelProto
→ GraphProto → NodeProto, AttributeProto, TensorProto), so training needs no extra package.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

_DTYPES = {1: np.float32, 6: np.int32, 7: np.int64, 9: np.bool_, 10: np.float16, 11: np.float64}


@dataclass
class Node:
    op: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict = field(default_factory=dict)


@dataclass
class Graph:
    nodes: list[Node]
    constants: dict[str, np.ndarray]
    inputs: list[str]
    outputs: list[str]

    def needed_for(self, names: list[str]) -> list[Node]:
        """The nodes, in graph order, that the named values depend on."""
        producer = {out: i for i, node in enumerate(self.nodes) for out in node.outputs}
        keep, todo = set(), list(names)
        while todo:
            name = todo.pop()
            i = producer.get(name)
            if i is None or i in keep:
                continue
            keep.add(i)
            todo.extend(self.nodes[i].inputs)
        return [self.nodes[i] for i in sorted(keep)]


def read_graph(path: str | Path) -> Graph:
    """The main graph of an ONNX model file."""
    model = Path(path).read_bytes()
    graphs = [v for f, _, v in _fields(memoryview(model)) if f == 7]
    if not graphs:
        raise ValueError(f"{path}: no graph in this ONNX file")
    nodes: list[Node] = []
    constants: dict[str, np.ndarray] = {}
    inputs: list[str] = []
    outputs: list[str] = []
    for f, _, v in _fields(graphs[0]):
        if f == 1:
            nodes.append(_node(v))
        elif f == 5:
            name, value = _tensor(v)
            constants[name] = value
        elif f in (11, 12):
            name = next(bytes(x).decode() for g, _, x in _fields(v) if g == 1)
            (inputs if f == 11 else outputs).append(name)
    return Graph(nodes, constants, inputs, outputs)


def _node(buf: memoryview) -> Node:
    node = Node("", [], [])
    for f, _, v in _fields(buf):
        if f == 1:
            node.inputs.append(bytes(v).decode())
        elif f == 2:
            node.outputs.append(bytes(v).decode())
        elif f == 4:
            node.op = bytes(v).decode()
        elif f == 5:
            name, value = _attribute(v)
            node.attrs[name] = value
    return node


def _attribute(buf: memoryview) -> tuple[str, object]:
    name, value, ints, floats = "", None, [], []
    for f, wire, v in _fields(buf):
        if f == 1:
            name = bytes(v).decode()
        elif f == 2:
            value = struct.unpack("<f", struct.pack("<I", v))[0]
        elif f == 3:
            value = _signed(v)
        elif f == 4:
            value = bytes(v).decode(errors="replace")
        elif f == 5:
            value = _tensor(v)[1]
        elif f == 7:
            floats += (list(np.frombuffer(bytes(v), "<f4")) if wire == 2
                       else [struct.unpack("<f", struct.pack("<I", v))[0]])
        elif f == 8:
            ints += [_signed(x) for x in _varints(v)] if wire == 2 else [_signed(v)]
    if value is None:
        value = ints if ints else [float(x) for x in floats]
    return name, value


def _tensor(buf: memoryview) -> tuple[str, np.ndarray]:
    dims, dtype, name, raw = [], 1, "", None
    typed: dict[int, list] = {4: [], 5: [], 7: []}
    for f, wire, v in _fields(buf):
        if f == 1:
            dims += list(_varints(v)) if wire == 2 else [v]
        elif f == 2:
            dtype = v
        elif f == 8:
            name = bytes(v).decode()
        elif f == 9:
            raw = bytes(v)
        elif f == 4:
            typed[4] += list(np.frombuffer(bytes(v), "<f4")) if wire == 2 else [v]
        elif f in (5, 7):
            typed[f] += [_signed(x) for x in _varints(v)] if wire == 2 else [_signed(v)]
    if dtype not in _DTYPES:
        raise ValueError(f"tensor {name}: ONNX data type {dtype} is not supported here")
    np_type = np.dtype(_DTYPES[dtype]).newbyteorder("<")
    if raw is not None:
        value = np.frombuffer(raw, np_type)
    else:
        value = np.asarray(typed[4] or typed[5] or typed[7], np_type)
    return name, value.astype(_DTYPES[dtype]).reshape(dims)


def _fields(buf: memoryview) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value): an int for varints and fixed sizes, a memoryview
    for length-delimited fields."""
    i, end = 0, len(buf)
    while i < end:
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = int.from_bytes(buf[i:i + 8], "little"), i + 8
        elif wire == 2:
            size, i = _varint(buf, i)
            value, i = buf[i:i + size], i + size
        elif wire == 5:
            value, i = int.from_bytes(buf[i:i + 4], "little"), i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if i > end:
            raise ValueError("truncated protobuf message")
        yield number, wire, value


def _varint(buf: memoryview, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise ValueError("truncated protobuf varint")
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, i
        shift += 7


def _varints(buf: memoryview) -> Iterator[int]:
    i = 0
    while i < len(buf):
        value, i = _varint(buf, i)
        yield value


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value
