"""Where the dev clips live: `$FACECODEC_DATA` when set, else `../shared/data/dev` beside
this checkout (87 real talking-head clips; MANIFEST.tsv there gives sources and licences)."""

from __future__ import annotations

import os
from pathlib import Path

ENV = "FACECODEC_DATA"


def dev_clips() -> Path:
    set_here = os.environ.get(ENV)
    if set_here:
        return Path(set_here).expanduser()
    return Path(__file__).resolve().parents[2] / "shared" / "data" / "dev"


DEV_CLIPS = dev_clips()
