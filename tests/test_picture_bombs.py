"""Reference pictures from a stranger: a header that declares a huge picture is refused before
any decoder allocates a pixel, for every codec we accept, and damage says one line."""

from __future__ import annotations

import contextlib
import resource
import time

import numpy as np
import pytest

from bitstream import BitstreamError, Reference, encode_packet
from codec.decoder import Decoder
from codec.motion import to_wire
from codec.picture import PictureError, decode_picture, encode_picture
from codec.picture_header import HeaderError, picture_size
from codec.prior.flame_io import load_prior
from codec.prior.params import FaceParams
from codec.render.meshwarp import MeshWarpRenderer

PICTURE = np.random.default_rng(0).integers(0, 255, (256, 256, 3), dtype=np.uint8)


def jpeg_bomb(width: int, height: int) -> bytes:
    data = bytearray(encode_picture(PICTURE, "jpeg", 50))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


def webp_bomb(width: int, height: int) -> bytes:
    """A lossy WebP whose VP8 frame declares width × height (at most 16383)."""
    data = bytearray(encode_picture(PICTURE, "webp", 50))
    start = data.index(b"\x9d\x01\x2a")
    data[start + 3 : start + 7] = width.to_bytes(2, "little") + height.to_bytes(2, "little")
    return bytes(data)


def av1_bomb(width: int, height: int) -> bytes:
    """A reduced still-picture sequence header declaring width × height, then the frame of a
    real 256² picture."""
    bits = "000" + "1" + "1" + "01000" + "1111" + "1111"  # profile, still, reduced, level
    bits += format(width - 1, "016b") + format(height - 1, "016b")
    bits += "0" * (-len(bits) % 8)
    payload = int(bits, 2).to_bytes(len(bits) // 8, "big")
    header = bytes([1 << 3 | 2, len(payload)]) + payload
    real = encode_picture(PICTURE, "av1", 50)
    return header + real


BOMBS = {"jpeg": jpeg_bomb, "webp": webp_bomb, "av1": av1_bomb}


@pytest.mark.parametrize("codec", BOMBS)
def test_a_picture_bomb_is_refused_before_decoding(codec):
    bomb = BOMBS[codec](16383, 16383)
    assert picture_size(bomb, codec) == (16383, 16383)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with pytest.raises(PictureError, match="declares 16383×16383, expected 256×256"):
        decode_picture(bomb, codec, 256)
    assert time.perf_counter() - start < 0.05
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - grown
    assert grown < 50_000  # kB: decoding 16383² would take 800 MB


@pytest.mark.parametrize("codec", BOMBS)
def test_honest_pictures_state_their_size(codec):
    patch = np.ascontiguousarray(PICTURE[:48, :96])
    assert picture_size(encode_picture(patch, codec, 50), codec) == (96, 48)
    assert decode_picture(encode_picture(patch, codec, 50), codec, (96, 48)).shape == (48, 96, 3)


@pytest.mark.parametrize("data, codec, why", [
    (b"", "jpeg", "not a JPEG"), (b"\xff\xd8\xff\xd9", "jpeg", "no start-of-frame"),
    (jpeg_bomb(256, 256)[:40], "jpeg", "no start-of-frame|truncated"),
    (b"RIFF\0\0\0\0WEBPVP8X", "webp", "truncated"), (b"GIF89a", "webp", "not a WebP"),
    (b"\x12\x00\x0a\x0b", "av1", "truncated"), (b"\x32\x01\x00", "av1", "no sequence header"),
    (b"\x08\x00", "av1", "without a size field"),
])  # fmt: skip
def test_unreadable_headers_say_why(data, codec, why):
    with pytest.raises(HeaderError, match=why):
        picture_size(data, codec)


@pytest.mark.parametrize("codec", BOMBS)
def test_damage_after_an_honest_header_decodes_or_is_one_error_and_silent(codec, capfd):
    data = bytearray(encode_picture(PICTURE, codec, 50))
    data[len(data) // 2 :] = bytes(len(data) - len(data) // 2)
    with contextlib.suppress(PictureError):
        assert decode_picture(bytes(data), codec, 256).shape == (256, 256, 3)
    assert capfd.readouterr().err == ""  # libjpeg's "Corrupt JPEG data" stays off stderr


def test_the_decoder_refuses_a_bomb_and_keeps_its_reference():
    model = load_prior()
    dec = Decoder(model, MeshWarpRenderer(model))
    from codec.config import EncoderConfig
    from codec.encoder import stream_hello

    hello = stream_hello(model, EncoderConfig(), 25.0)
    params = FaceParams(np.zeros(model.n_shape), np.zeros(model.n_expr), np.zeros((5, 3)),
                        900.0, np.array([128.0, 128.0, 0.0]), 256)  # fmt: skip
    wire = to_wire(params)
    dec.push(encode_packet(hello))
    dec.push(encode_packet(Reference(0, "jpeg", encode_picture(PICTURE, "jpeg", 50), wire)))
    for codec, make in BOMBS.items():
        with pytest.raises(BitstreamError, match=r"declares (40000|16383)"):
            size = 16383 if codec == "webp" else 40000
            dec.push(encode_packet(Reference(1, codec, make(size, size), wire)))
    assert list(dec.refs) == [0]


def test_damaged_pictures_and_bombs_only_ever_raise_picture_error():
    import random

    from benchmarks.bitstream_fuzz import damage_picture

    rng = random.Random(4)
    real = {c: encode_picture(PICTURE, c, 50) for c in BOMBS}
    outcomes = set()
    for _ in range(150):
        codec = rng.choice(list(BOMBS))
        try:
            decode_picture(damage_picture(bytearray(real[codec]), codec, rng), codec, 256)
            outcomes.add("decoded")
        except PictureError as exc:
            outcomes.add("bomb" if "declares" in str(exc) else "refused")
    assert outcomes == {"decoded", "bomb", "refused"}
