"""How the networks run fast: bf16 only where the hardware computes it natively, and NHWC.

On CUDA, and on CPUs with AVX512-BF16 or AMX, bf16 convolutions are much faster than fp32
(here, a 2-core AVX512-BF16 VM: the renderer 1.4x, a training step 1.7x); elsewhere oneDNN
emulates bf16 and it is slower than fp32. Sampling grids, keypoints and pictures stay fp32
under autocast either way (the networks' own `_sample` and losses see to it). oneDNN's and
cuDNN's fast convolutions want channels-last (NHWC) tensors: 1.3-2x here in fp32 too.
"""

from __future__ import annotations

import torch
from torch import nn

CHOICES = ("auto", "bf16", "fp32")


def native_bf16(device: torch.device) -> bool:
    if device.type == "cuda":
        return True
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


def use_bf16(device: torch.device, precision: str = "auto") -> bool:
    """Whether to run under bf16 autocast: "auto" where native, else as asked."""
    if precision not in CHOICES:
        raise ValueError(f"precision must be one of {', '.join(CHOICES)}, got {precision!r}")
    return native_bf16(device) if precision == "auto" else precision == "bf16"


def channels_last(module: nn.Module) -> nn.Module:
    """NHWC for a network of 2D convolutions (the mesh-guided generator, the face mesh); one
    with 3D convolutions (face-vid2vid's feature volumes) is left as it is."""
    if all(t.dim() <= 4 for t in (*module.parameters(), *module.buffers())):
        module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    return module


def layout(x: torch.Tensor) -> torch.memory_format:
    """x's memory format, so a result can be laid out like it (mixing layouts in one
    elementwise op or concatenation costs a copy, several times the op on a CPU)."""
    cl = torch.channels_last
    if x.dim() == 4 and x.is_contiguous(memory_format=cl) and not x.is_contiguous():
        return cl
    return torch.contiguous_format
