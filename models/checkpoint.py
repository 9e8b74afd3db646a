"""Checkpoints: one small versioned file with the config, weights and the face prior's id.

Plain tensors, numbers and strings only, so `torch.load(weights_only=True)` reads it and a
checkpoint can never run code. A renderer checks the config and the prior id before use.
"""

from __future__ import annotations

from pathlib import Path

import torch

from models.config import NetConfig

FORMAT = "facecodec-generator"
VERSION = 1


class CheckpointError(Exception):
    """A checkpoint that cannot be used here, with the reason and the fix."""


def save_checkpoint(path: str | Path, config: NetConfig, generator, prior_id: str,
                    step: int = 0, extra: dict | None = None) -> None:
    path = Path(path)
    data = {
        "format": FORMAT, "version": VERSION, "config": config.to_dict(), "prior_id": prior_id,
        "step": step, "generator": generator.state_dict(), **(extra or {}),
    }  # fmt: skip
    tmp = path.with_suffix(".tmp")
    torch.save(data, tmp)
    tmp.replace(path)  # never a half-written last.pt


def load_checkpoint(path: str | Path, prior_id: str | None = None) -> tuple[NetConfig, dict]:
    """(config, the whole checkpoint dict); checks format, version and prior."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint (train one: facecodec train ...)")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path}: not a readable checkpoint ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a facecodec generator checkpoint")
    if data.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint version {data.get('version')}, this "
                              f"facecodec reads {VERSION}")
    try:
        config = NetConfig.from_dict(data["config"])
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: bad config in checkpoint ({exc})") from None
    if prior_id is not None and data.get("prior_id") != prior_id:
        raise CheckpointError(
            f"{path}: trained with face prior {data.get('prior_id')}, this receiver uses "
            f"{prior_id}; pass the same --flame file the checkpoint was trained with"
        )
    return config, data
