"""One onnxruntime session per converted model, quiet and on the CPU."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

ASSETS = Path(__file__).with_name("assets")
_METADATA: dict[str, dict] = {}  # per model file, filled by the first session on it


class Session:
    """A converted model from assets/: feed one float32 NHWC image, get its named outputs."""

    def __init__(self, filename: str, threads: int = 1):
        import onnxruntime as ort

        path = ASSETS / filename
        if not path.is_file():
            raise FileNotFoundError(f"face model {path} is missing: reinstall facecodec")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(path), options,
                                             providers=["CPUExecutionProvider"])
        self.outputs = [o.name for o in self._session.get_outputs()]
        meta = self._session.get_modelmeta().custom_metadata_map
        self.metadata = {key: json.loads(value) for key, value in meta.items()}
        _METADATA.setdefault(filename, self.metadata)

    def __call__(self, image: np.ndarray) -> dict[str, np.ndarray]:
        values = self._session.run(None, {"image": image[None].astype(np.float32)})
        return dict(zip(self.outputs, values, strict=True))


def metadata(filename: str) -> dict:
    """A converted model's metadata, read by the first session on it (one is opened only if
    none was)."""
    if filename not in _METADATA:
        Session(filename)
    return _METADATA[filename]
