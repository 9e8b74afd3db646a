"""MediaPipe's face detector and 478-point face mesh on onnxruntime (see convert.py)."""
