"""Convert MediaPipe's face detector and 478-point face-mesh models from TFLite to ONNX, once.

The sender runs them on onnxruntime, so it does not need the `mediapipe` package (whose last
release with these models, 0.10.21, pins numpy < 2 and has no wheel for Python 3.13). The
attention mesh uses three MediaPipe custom operators; here each is written with standard ONNX
operators (GridSample, MatMul and arithmetic), following their definitions in MediaPipe's
`mediapipe/util/tflite/operations`. Activations become NCHW; weights stay float16 (as in the
TFLite files) behind a Cast, which keeps the files as small as the originals.

    pip install onnx tflite
    python -m codec.prior.build.facemesh --from DIR

DIR holds the two .tflite files and `face_mesh_connections.py`, whose tessellation edges
become tessellation_edges.npy (the prior's triangles come from them).

All three come from the mediapipe 0.10.21 wheel (`mediapipe/modules/face_detection/`,
`mediapipe/modules/face_landmark/` and `mediapipe/python/solutions/`); assets/README.md
gives their SHA-256 and licence.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np

ASSETS = Path(__file__).parents[1] / "facemesh" / "assets"  # what this converter writes
MODELS = {
    "face_detection_short_range.tflite": "face_detector.onnx",
    "face_landmark_with_attention.tflite": "face_mesh.onnx",
}
OPSET = 18


class Converter:
    """Walks one TFLite subgraph in order and emits the equivalent ONNX nodes."""

    def __init__(self, data: bytes):
        import tflite

        self.tfl = tflite
        self.model = tflite.Model.GetRootAsModel(data, 0)
        self.graph = self.model.Subgraphs(0)
        self.nodes: list = []
        self.inits: list = []
        self.consts: dict[int, np.ndarray] = {}  # TFLite tensor -> value (after DEQUANTIZE)
        self.names: dict[tuple[int, str], str] = {}  # (tensor, layout) -> ONNX name
        self.counter = 0
        self.subsets: list[list[int]] = []  # crop subsets of the attention heads, in order
        names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
        self.ops = []
        for i in range(self.model.OperatorCodesLength()):
            code = self.model.OperatorCodes(i)
            builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
            custom = code.CustomCode()
            self.ops.append(custom.decode() if custom else names[builtin])

    # --- helpers -------------------------------------------------------------------------
    def fresh(self, hint: str) -> str:
        self.counter += 1
        return f"{hint}_{self.counter}"

    def node(self, op: str, inputs: list[str], hint: str = "t", **attrs) -> str:
        from onnx import helper

        out = self.fresh(hint)
        self.nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def const(self, value: np.ndarray | np.generic | list, hint: str = "c") -> str:
        from onnx import numpy_helper

        name = self.fresh(hint)
        value = np.asarray(value)
        if value.dtype == np.float64:
            value = value.astype(np.float32)
        if value.dtype == np.float16:
            self.inits.append(numpy_helper.from_array(value, name + "_f16"))
            self.nodes.append(self._cast(name + "_f16", name))
        else:
            self.inits.append(numpy_helper.from_array(value, name))
        return name

    def _cast(self, src: str, dst: str):
        from onnx import TensorProto, helper

        return helper.make_node("Cast", [src], [dst], to=TensorProto.FLOAT)

    def tensor(self, i: int):
        return self.graph.Tensors(i)

    def shape(self, i: int) -> list[int]:
        return [int(d) for d in self.tensor(i).ShapeAsNumpy()]

    def is_const(self, i: int) -> bool:
        if i in self.consts:
            return True
        data = self.model.Buffers(self.tensor(i).Buffer()).DataAsNumpy()
        return not isinstance(data, int) and data.size > 0

    def raw(self, i: int) -> np.ndarray:
        t = self.tensor(i)
        data = self.model.Buffers(t.Buffer()).DataAsNumpy()
        dtype = {0: np.float32, 1: np.float16, 2: np.int32, 4: np.int64}[t.Type()]
        return np.frombuffer(data.tobytes(), dtype=dtype).reshape(self.shape(i))

    def value(self, i: int) -> np.ndarray:
        return self.consts[i] if i in self.consts else self.raw(i)

    def get(self, i: int, layout: str) -> str:
        """ONNX name of tensor i in `layout` ('nchw' or 'plain'), transposing when needed."""
        if (i, layout) in self.names:
            return self.names[(i, layout)]
        if self.is_const(i):
            value = self.value(i)
            if layout == "nchw":
                value = value.transpose(0, 3, 1, 2)
            name = self.const(value, "w")
        else:
            other = "plain" if layout == "nchw" else "nchw"
            perm = [0, 3, 1, 2] if layout == "nchw" else [0, 2, 3, 1]
            name = self.node("Transpose", [self.names[(i, other)]], perm=perm)
        self.names[(i, layout)] = name
        return name

    def layout_of(self, i: int) -> str:
        return "nchw" if (i, "nchw") in self.names else "plain"

    def activation(self, name: str, fused: int) -> str:
        if fused == 0:
            return name
        if fused == 1:
            return self.node("Relu", [name])
        if fused == 3:
            return self.node("Clip", [name, self.const(np.float32(0)), self.const(np.float32(6))])
        raise NotImplementedError(f"fused activation {fused}")

    def options(self, op, cls):
        table = op.BuiltinOptions()
        opts = cls()
        opts.Init(table.Bytes, table.Pos)
        return opts

    @staticmethod
    def same_pads(size: list[int], kernel: list[int], stride: list[int]) -> list[int]:
        begin, end = [], []
        for n, k, s in zip(size, kernel, stride, strict=True):
            total = max((-(-n // s) - 1) * s + k - n, 0)
            begin.append(total // 2)
            end.append(total - total // 2)
        return begin + end

    # --- operators -----------------------------------------------------------------------
    def convert(self) -> list:
        for k in range(self.graph.OperatorsLength()):
            op = self.graph.Operators(k)
            kind = self.ops[op.OpcodeIndex()]
            ins = [int(j) for j in op.InputsAsNumpy()]
            outs = [int(j) for j in op.OutputsAsNumpy()]
            handler = getattr(self, "op_" + kind.lower())
            handler(op, ins, outs)
        return self.nodes

    def op_dequantize(self, op, ins, outs):
        self.consts[outs[0]] = self.raw(ins[0])

    def _conv(self, op, ins, outs, depthwise: bool):
        t = self.tfl
        opts = self.options(op, t.DepthwiseConv2DOptions if depthwise else t.Conv2DOptions)
        w = self.value(ins[1])
        kernel = list(w.shape[1:3])
        stride = [opts.StrideH(), opts.StrideW()]
        dilation = [opts.DilationHFactor(), opts.DilationWFactor()]
        pads = [0, 0, 0, 0]
        if opts.Padding() == t.Padding.SAME:
            pads = self.same_pads(self.shape(ins[0])[1:3], kernel, stride)
        if depthwise:  # (1, H, W, C*m) -> (C*m, 1, H, W)
            weight, group = w.transpose(3, 0, 1, 2), self.shape(ins[0])[3]
        else:  # (O, H, W, I) -> (O, I, H, W)
            weight, group = w.transpose(0, 3, 1, 2), 1
        inputs = [self.get(ins[0], "nchw"), self.const(weight, "w")]
        if len(ins) > 2 and ins[2] >= 0:
            inputs.append(self.const(self.value(ins[2]), "b"))
        y = self.node("Conv", inputs, "conv", kernel_shape=kernel, strides=stride,
                      dilations=dilation, pads=pads, group=group)
        self.names[(outs[0], "nchw")] = self.activation(y, opts.FusedActivationFunction())

    def op_conv_2d(self, op, ins, outs):
        self._conv(op, ins, outs, depthwise=False)

    def op_depthwise_conv_2d(self, op, ins, outs):
        self._conv(op, ins, outs, depthwise=True)

    def op_max_pool_2d(self, op, ins, outs):
        t = self.tfl
        opts = self.options(op, t.Pool2DOptions)
        kernel = [opts.FilterHeight(), opts.FilterWidth()]
        stride = [opts.StrideH(), opts.StrideW()]
        pads = [0, 0, 0, 0]
        if opts.Padding() == t.Padding.SAME:
            pads = self.same_pads(self.shape(ins[0])[1:3], kernel, stride)
        y = self.node("MaxPool", [self.get(ins[0], "nchw")], "pool", kernel_shape=kernel,
                      strides=stride, pads=pads)
        self.names[(outs[0], "nchw")] = self.activation(y, opts.FusedActivationFunction())

    def op_prelu(self, op, ins, outs):
        """prelu(x) = x + (1 - a)·relu(-x), as two 1×1 depthwise convolutions and an add.

        The same function as PRelu, written so onnxruntime keeps it in its blocked
        convolution layout (its PRelu, broadcast per channel, took half the mesh's time).
        """
        alpha = self.value(ins[1]).astype(np.float32).reshape(-1)
        channels = alpha.size
        x = self.get(ins[0], "nchw")
        flip = self.node("Conv", [x, self.const(-np.ones((channels, 1, 1, 1), np.float32))],
                         "neg", kernel_shape=[1, 1], group=channels)
        neg = self.node("Relu", [flip])
        bent = self.node("Conv", [neg, self.const((1 - alpha).reshape(-1, 1, 1, 1))],
                         "bend", kernel_shape=[1, 1], group=channels)
        self.names[(outs[0], "nchw")] = self.node("Add", [x, bent])

    def op_relu(self, op, ins, outs):
        self.names[(outs[0], "nchw")] = self.node("Relu", [self.get(ins[0], "nchw")])

    def _binary(self, op, ins, outs, kind: str, opts_cls):
        opts = self.options(op, opts_cls)
        acts = [j for j in ins if not self.is_const(j)]
        layout = self.layout_of(acts[0]) if acts else "plain"
        operands = []
        for j in ins:
            if j in acts:
                operands.append(self.get(j, layout))
            else:
                v = self.value(j)
                if layout == "nchw" and v.ndim >= 1 and v.size > 1:
                    v = v.reshape(-1, 1, 1)
                operands.append(self.const(v))
        y = self.activation(self.node(kind, operands), opts.FusedActivationFunction())
        self.names[(outs[0], layout)] = y

    def op_add(self, op, ins, outs):
        self._binary(op, ins, outs, "Add", self.tfl.AddOptions)

    def op_mul(self, op, ins, outs):
        self._binary(op, ins, outs, "Mul", self.tfl.MulOptions)

    def op_pad(self, op, ins, outs):
        pads = self.value(ins[1]).astype(np.int64)  # (4, 2) in NHWC
        if not pads[:3].any() and pads[3, 0] == 0:  # zero channels appended: a 1×1 conv
            channels = self.shape(ins[0])[3]
            eye = np.eye(channels + int(pads[3, 1]), channels, dtype=np.float32)
            self.names[(outs[0], "nchw")] = self.node(
                "Conv", [self.get(ins[0], "nchw"), self.const(eye[:, :, None, None])],
                "widen", kernel_shape=[1, 1])
            return
        order = [0, 3, 1, 2]
        onnx_pads = [pads[d, 0] for d in order] + [pads[d, 1] for d in order]
        y = self.node("Pad", [self.get(ins[0], "nchw"), self.const(np.array(onnx_pads))])
        self.names[(outs[0], "nchw")] = y

    def op_reshape(self, op, ins, outs):
        shape = np.array(self.shape(outs[0]), dtype=np.int64)
        y = self.node("Reshape", [self.get(ins[0], "plain"), self.const(shape)])
        self.names[(outs[0], "plain")] = y

    def op_concatenation(self, op, ins, outs):
        opts = self.options(op, self.tfl.ConcatenationOptions)
        y = self.node("Concat", [self.get(j, "plain") for j in ins], axis=opts.Axis())
        self.names[(outs[0], "plain")] = y

    def op_strided_slice(self, op, ins, outs):
        begin, end, step = (self.value(j).astype(np.int64) for j in ins[1:4])
        end = np.minimum(end, self.shape(ins[0]))
        axes = np.arange(len(begin), dtype=np.int64)
        y = self.node("Slice", [self.get(ins[0], "plain"), self.const(begin), self.const(end),
                                self.const(axes), self.const(step)])
        self.names[(outs[0], "plain")] = y

    # --- MediaPipe's custom operators ------------------------------------------------------
    def custom_options(self, op) -> dict:
        from flatbuffers import flexbuffers

        return flexbuffers.Loads(op.CustomOptionsAsNumpy().tobytes())

    def scalar(self, name: str, k: int) -> str:
        """Row k of a tensor (element k of a flat vector), keeping the axis."""
        return self.node("Gather", [name, self.const(np.array([k], dtype=np.int64))])

    def op_landmarks2transformmatrix(self, op, ins, outs):
        """Rotated bounding box of a landmark subset -> 4×4 crop matrix (version 2)."""
        o = self.custom_options(op)
        assert o["target_rotation_radians"] == 0.0
        self.subsets.append([int(k) for k in o["subset_idxs"]])
        points = self.node("Reshape", [self.get(ins[0], "plain"),
                                       self.const(np.array([-1, 3], dtype=np.int64))])
        xy = self.node("Slice", [points, *map(self.const, ([0], [2], [1]))])  # (468, 2)
        ends = self.node("Gather", [xy, self.const(np.array(
            [o["left_rotation_idx"], o["right_rotation_idx"]], dtype=np.int64))])
        d = self.node("Reshape", [self.node("Sub", [self.scalar(ends, 1),
                                                    self.scalar(ends, 0)]),
                                  self.const(np.array([2], dtype=np.int64))])
        unit = self.node("Div", [d, self.node("Sqrt", [self.node("ReduceSum", [
            self.node("Mul", [d, d]), self.const(np.array([0], dtype=np.int64))])])])
        c, s = self.scalar(unit, 0), self.node("Neg", [self.scalar(unit, 1)])  # r = -atan2
        # Rotation by r as a matrix acting on row vectors: [x y] @ [[c, s], [-s, c]].
        rot = self.node("Reshape", [self.node("Concat", [c, s, self.node("Neg", [s]), c],
                                              axis=0),
                                    self.const(np.array([2, 2], dtype=np.int64))])
        subset = self.node("Gather", [xy, self.const(np.array(o["subset_idxs"], np.int64))])
        turned = self.node("MatMul", [subset, rot])
        lo = self.node("ReduceMin", [turned, self.const(np.array([0], np.int64))], keepdims=0)
        hi = self.node("ReduceMax", [turned, self.const(np.array([0], np.int64))], keepdims=0)
        size = self.node("Sub", [hi, lo])
        mid = self.node("Div", [self.node("Add", [hi, lo]), self.const(np.float32(2))])
        back = self.node("Reshape", [self.node("Concat", [c, self.node("Neg", [s]), s, c],
                                               axis=0),
                                     self.const(np.array([2, 2], dtype=np.int64))])
        centre = self.node("MatMul", [self.node("Unsqueeze", [mid, self.const(
            np.array([0], np.int64))]), back])  # (1, 2)
        scale = self.node("Mul", [size, self.const(np.array(
            [o["scale_x"] / o["output_width"], o["scale_y"] / o["output_height"]], np.float32))])
        sx, sy = self.scalar(scale, 0), self.scalar(scale, 1)
        a00, a01 = self.node("Mul", [c, sx]), self.node("Mul", [s, sy])
        a10, a11 = self.node("Neg", [self.node("Mul", [s, sx])]), self.node("Mul", [c, sy])
        hw, hh = o["output_width"] / 2.0, o["output_height"] / 2.0
        centre = self.node("Reshape", [centre, self.const(np.array([2], np.int64))])
        cx, cy = self.scalar(centre, 0), self.scalar(centre, 1)
        tx = self.node("Sub", [cx, self.node("Add", [self.node("Mul", [a00, self.const(
            np.float32(hw))]), self.node("Mul", [a01, self.const(np.float32(hh))])])])
        ty = self.node("Sub", [cy, self.node("Add", [self.node("Mul", [a10, self.const(
            np.float32(hw))]), self.node("Mul", [a11, self.const(np.float32(hh))])])])
        zero, one = self.const(np.zeros(1, np.float32)), self.const(np.ones(1, np.float32))
        flat = self.node("Concat", [a00, a01, zero, tx, a10, a11, zero, ty,
                                    zero, zero, one, zero, zero, zero, zero, one], axis=0)
        y = self.node("Reshape", [flat, self.const(np.array([1, 4, 4], np.int64))])
        self.names[(outs[0], "plain")] = y

    def affine_rows(self, matrix: str) -> str:
        """(1, 4, 4) -> (3, 2): rows of [x y 1] @ it give the matrix's first two outputs."""
        m = self.node("Reshape", [matrix, self.const(np.array([4, 4], np.int64))])
        m = self.node("Gather", [m, self.const(np.array([0, 1], np.int64))], axis=0)
        m = self.node("Gather", [m, self.const(np.array([0, 1, 3], np.int64))], axis=1)
        return self.node("Transpose", [m], perm=[1, 0])

    def op_transformtensorbilinear(self, op, ins, outs):
        """Bilinear crop of a feature map through the matrix; outside samples are zero."""
        o = self.custom_options(op)
        h, w = o["output_height"], o["output_width"]
        src_h, src_w = self.shape(ins[0])[1:3]
        gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
        grid = np.stack([gx + 0.5, gy + 0.5, np.ones_like(gx)], -1).reshape(-1, 3)
        tc = self.node("Sub", [self.node("MatMul", [self.const(grid), self.affine_rows(
            self.get(ins[1], "plain"))]), self.const(np.float32(0.5))])  # (h*w, 2) pixels
        limit = self.const(np.array([src_w - 1, src_h - 1], np.float32))
        inside = self.node("And", [
            self.node("GreaterOrEqual", [tc, self.const(np.float32(0))]),
            self.node("LessOrEqual", [tc, limit])])
        inside = self.node("Cast", [self.node("ReduceMin", [
            self.node("Cast", [inside], to=1), self.const(np.array([1], np.int64))],
            keepdims=0)], to=1)
        norm = self.node("Sub", [self.node("Mul", [tc, self.const(
            np.array([2 / (src_w - 1), 2 / (src_h - 1)], np.float32))]),
            self.const(np.float32(1))])
        grid4 = self.node("Reshape", [norm, self.const(np.array([1, h, w, 2], np.int64))])
        sampled = self.node("GridSample", [self.get(ins[0], "nchw"), grid4],
                            align_corners=1, mode="bilinear", padding_mode="zeros")
        mask = self.node("Reshape", [inside, self.const(np.array([1, 1, h, w], np.int64))])
        self.names[(outs[0], "nchw")] = self.node("Mul", [sampled, mask])

    def op_transformlandmarks(self, op, ins, outs):
        """2-D landmarks through the matrix's first two rows."""
        n, dims = self.shape(ins[0])[1:3]
        assert dims == 2
        pts = self.node("Reshape", [self.get(ins[0], "plain"),
                                    self.const(np.array([n, 2], np.int64))])
        ones = self.const(np.ones((n, 1), np.float32))
        moved = self.node("MatMul", [self.node("Concat", [pts, ones], axis=1),
                                     self.affine_rows(self.get(ins[1], "plain"))])
        self.names[(outs[0], "plain")] = self.node(
            "Reshape", [moved, self.const(np.array([1, n, 2], np.int64))])

    # --- the whole model ---------------------------------------------------------------------
    def to_onnx(self, producer: str):
        import onnx
        from onnx import TensorProto, helper

        (inp,) = [int(j) for j in self.graph.InputsAsNumpy()]
        in_shape = self.shape(inp)
        self.names[(inp, "plain")] = "image"
        self.convert()
        outputs = []
        for j in self.graph.OutputsAsNumpy():
            name = self.tensor(int(j)).Name().decode()
            self.nodes.append(helper.make_node("Identity", [self.get(int(j), "plain")], [name]))
            outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT,
                                                         self.shape(int(j))))
        graph = helper.make_graph(
            self.nodes, "graph",
            [helper.make_tensor_value_info("image", TensorProto.FLOAT, in_shape)],
            outputs, self.inits)
        model = helper.make_model(graph, producer_name=producer,
                                  opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = 8
        if self.subsets:  # which mesh point each refined lip and eye point stands for
            lips, left, right = self.subsets
            assert (len(lips), left[0], right[0]) == (80, 33, 263), "unexpected head order"
            onnx.helper.set_model_props(model, {
                "output_lips": json.dumps(lips), "output_left_eye": json.dumps(left),
                "output_right_eye": json.dumps(right)})
        onnx.checker.check_model(model)
        return model


def convert_file(src: Path, dst: Path) -> str:
    import onnx

    data = src.read_bytes()
    model = Converter(data).to_onnx(f"facecodec convert from {src.name}")
    onnx.save(model, dst)
    return hashlib.sha256(data).hexdigest()


def tessellation_edges(connections_py: Path) -> np.ndarray:
    """MediaPipe's FACEMESH_TESSELATION, read from its source file: each edge once, sorted."""
    import ast

    for stmt in ast.parse(connections_py.read_text()).body:
        if not isinstance(stmt, ast.Assign) or not isinstance(stmt.value, ast.Call):
            continue
        if getattr(stmt.targets[0], "id", "") == "FACEMESH_TESSELATION":
            pairs = ast.literal_eval(stmt.value.args[0])  # frozenset([...]) -> its list
            return np.array(sorted({(min(a, b), max(a, b)) for a, b in pairs}), np.int16)
    raise ValueError(f"no FACEMESH_TESSELATION in {connections_py}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="src", type=Path, required=True,
                        help="folder with face_detection_short_range.tflite and "
                             "face_landmark_with_attention.tflite")
    parser.add_argument("--out", type=Path, default=ASSETS, help="where the .onnx files go")
    args = parser.parse_args(argv)
    for name, out in MODELS.items():
        src = args.src / name
        if not src.is_file():
            parser.error(f"{src} not found (it ships in the mediapipe 0.10.21 wheel)")
        digest = convert_file(src, args.out / out)
        print(f"{name} (sha256 {digest}) -> {args.out / out}")
    connections = args.src / "face_mesh_connections.py"
    if not connections.is_file():
        parser.error(f"{connections} not found (mediapipe/python/solutions/ in the wheel)")
    np.save(args.out / "tessellation_edges.npy", tessellation_edges(connections))
    print(f"{connections.name} -> {args.out / 'tessellation_edges.npy'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
