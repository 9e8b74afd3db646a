"""Training the warping generator: data preparation, the loop, and `facecodec train`."""
