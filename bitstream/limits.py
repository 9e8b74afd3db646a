"""Hard limits on what a decoder accepts, so hostile input cannot make it allocate much.

A packet is rejected before decoding if it is larger than MAX_PACKET_BYTES; a compressed body
whose declared size exceeds MAX_DECOMPRESSED_BYTES is rejected before it is decompressed.
"""

MAX_PACKET_BYTES = 512 * 1024  # a Reference with a large picture fits well inside
MAX_DECOMPRESSED_BYTES = 512 * 1024
MAX_PICTURE_BYTES = 400 * 1024
MAX_PARAM_VALUES = 1024  # floats in one array of a Reference's params
MAX_EXPR_DIMS = 400  # FLAME has 100 (2020) to 100+ (2023); the built-in prior 64
MAX_KEYPOINTS = 68
MAX_TEXT = 256  # characters of a Bye reason or a codec name
MAX_CROP = 2048
MAX_MARGIN = 512  # a base Reference's picture beyond its crop, pixels on each side
MAX_BANK_SLOTS = 4  # bank pictures a stream holds besides its base references
KEPT_REFERENCES = 4  # base References a decoder keeps, the last sent; encoders reuse only these
MAX_GOLOMB_PREFIX = 24  # an Exp-Golomb code with more leading zeros is corrupt
