"""Torch networks for the neural receiver: appearance volume, FLAME-keypoint motion field,
expression-aware SPADE generator, the learned-keypoint baseline, losses, checkpoints and the
training loop (`models/train/`)."""
