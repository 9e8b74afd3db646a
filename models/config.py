"""Network sizes as frozen dataclasses, one preset per use.

`paper-256` is face-vid2vid's published generator (the paper builds on it); `small-256`
halves the widths and the 3D depth work so it renders in real time on one GPU; `tiny-64` is
small enough to train on a CPU in tests. `mesh-cpu` and `mesh-gpu` are the mesh-guided
generator (`models/mesh_guided.py`), the one our compute can train.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

MODES = ("flame", "baseline")
GENERATORS = ("volume", "mesh")


@dataclass(frozen=True)
class NetConfig:
    name: str
    size: int = 256  # square input and output side
    mode: str = "flame"  # flame: FLAME keypoints + ψ; baseline: learned keypoints, no ψ
    keypoints: int = 16  # K (a codec preset in flame mode)
    expr_max: int = 50  # ψ dims the generator accepts; fewer arrive zero-padded
    block: int = 64  # appearance extractor's first width
    max_features: int = 512
    down_blocks: int = 2
    volume_channels: int = 32  # C of the 3D feature volume
    volume_depth: int = 16  # D
    volume_resblocks: int = 6
    motion_block: int = 32  # 3D hourglass of the motion field estimator
    motion_max: int = 1024
    motion_blocks: int = 5
    motion_compress: int = 4  # feature channels the estimator sees per warped candidate
    spade_channels: int = 256
    spade_blocks: int = 8
    kp_sigma: float = 0.1  # heatmap width in normalized units
    generator: str = "volume"  # volume: face-vid2vid's; mesh: mesh-guided (mesh_guided.py)
    mesh_factor: int = 4  # the mesh-guided core runs at size / mesh_factor
    mesh_width: int = 64
    mesh_blocks: int = 4
    blend_mask: bool = False  # mesh-guided: corrections only under a learned mask
    mask_init: float = 0.0  # the mask's starting logit (0: half of each correction)
    mask_floor: float = 0.0  # >0: the mask is 0 where its sigmoid is below this (exact warp)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        if self.generator not in GENERATORS:
            raise ValueError(f"generator must be one of {GENERATORS}")
        if self.generator == "mesh" and self.mode != "flame":
            raise ValueError("the mesh-guided generator is driven by FLAME (mode flame)")
        if not 0.0 <= self.mask_floor < 1.0:
            raise ValueError("mask_floor must be in [0, 1)")
        if self.mesh_factor < 1 or self.mesh_factor & (self.mesh_factor - 1):
            raise ValueError("mesh_factor must be a power of two")
        if self.size % (2**self.down_blocks) or (self.size >> self.down_blocks) % (
            2**self.motion_blocks
        ):
            raise ValueError("size must divide by 2**down_blocks and the hourglass depth")

    @property
    def code_dims(self) -> int:
        """Expression input: ψ[:expr_max] + jaw (3); none in baseline mode."""
        return self.expr_max + 3 if self.mode == "flame" else 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> NetConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown config fields {sorted(unknown)}")
        return cls(**data)


CONFIGS: dict[str, NetConfig] = {
    "paper-256": NetConfig("paper-256"),
    "small-256": NetConfig(
        "small-256", block=32, max_features=256, volume_channels=16, volume_depth=16,
        volume_resblocks=3, motion_block=16, motion_max=256, motion_blocks=4,
        spade_channels=128,
    ),
    # Mesh-guided: the CPU size trains on 2 cores in hours and renders in tens of ms; the
    # GPU size works at half resolution with twice the width and blocks.
    "mesh-cpu": NetConfig("mesh-cpu", generator="mesh", mesh_factor=4, mesh_width=48,
                          mesh_blocks=3, blend_mask=True),
    "mesh-gpu": NetConfig("mesh-gpu", generator="mesh", mesh_factor=2, mesh_width=96,
                          mesh_blocks=6, blend_mask=True),
    "tiny-64": NetConfig(
        "tiny-64", size=64, block=16, max_features=64, volume_channels=8, volume_depth=4,
        volume_resblocks=1, motion_block=8, motion_max=32, motion_blocks=2, motion_compress=2,
        spade_channels=32, kp_sigma=0.15,
    ),
}  # fmt: skip


def get_config(name: str, mode: str = "flame", keypoints: int | None = None) -> NetConfig:
    if name not in CONFIGS:
        raise ValueError(f"unknown config {name!r}; choose from {', '.join(CONFIGS)}")
    config = replace(CONFIGS[name], mode=mode)
    return replace(config, keypoints=keypoints) if keypoints else config
