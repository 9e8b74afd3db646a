"""`python -m benchmarks.hostile`: what a stranger's input costs the decoder and the signaling
server, case by case, with the figures that say it is bounded.

    python -m benchmarks.hostile [--out benchmarks/results/hostile.md]

Pictures: a Reference whose picture header declares 16383² (JPEG, WebP) or 65536² (AV1)
pixels, pushed into a `Decoder`: the error line, the time and how far the process's peak
memory grew. Signaling, against a real server on loopback (uvicorn, the same options as
`facecodec signal`): tokens outside the token alphabet, JSON nested 5,000 deep, a receiver
that stops reading while the sender keeps offering it 150 KB messages (seconds until its
seat is free; messages the other receiver got meanwhile), 40 half-open connections from
one address, a receiver that joins and leaves 30 times, 320 room creations from 4 threads
against a cap of 200. Every case prints what the peer saw (a close code, a status) and the
run fails if any differs from what the server promises.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import resource
import sys
import time
from pathlib import Path

SECRET = b"hostile-benchmark-secret-0123456"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.hostile",
                                description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/hostile.md"))
    args = p.parse_args(sys.argv[1:] if argv is None else argv)  # fmt: skip
    rows = picture_bombs() + asyncio.run(signaling_cases())
    lines = ["| case | what the peer saw | expected | cost |", "|---|---|---|---|"]
    lines += [f"| {case} | {saw} | {want} | {cost} |" for case, saw, want, cost in rows]
    table = "\n".join(lines)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(f"`python -m benchmarks.hostile`\n\n{table}\n")
    return 0 if all(str(want) in str(saw) for _, saw, want, _ in rows) else 1


def picture_bombs() -> list[tuple]:
    import numpy as np

    from benchmarks.bitstream_fuzz import picture_bomb
    from bitstream import BitstreamError, Reference, encode_packet
    from codec.config import EncoderConfig
    from codec.decoder import Decoder
    from codec.encoder import stream_hello
    from codec.motion import to_wire
    from codec.picture import encode_picture
    from codec.prior.flame_io import load_prior
    from codec.prior.params import FaceParams
    from codec.render.meshwarp import MeshWarpRenderer

    model = load_prior()
    crop = np.random.default_rng(0).integers(0, 255, (256, 256, 3), dtype=np.uint8)
    params = FaceParams(np.zeros(model.n_shape), np.zeros(model.n_expr), np.zeros((5, 3)),
                        900.0, np.array([128.0, 128.0, 0.0]), 256)  # fmt: skip
    rows = []
    for codec, side in (("jpeg", 16383), ("webp", 16383), ("av1", 65536)):
        dec = Decoder(model, MeshWarpRenderer(model))
        dec.push(encode_packet(stream_hello(model, EncoderConfig(), 25.0)))
        bomb = picture_bomb(bytearray(encode_picture(crop, codec, 50)), codec, side)
        packet = encode_packet(Reference(0, codec, bomb, to_wire(params)))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        try:
            dec.push(packet)
            saw = "decoded"
        except BitstreamError as exc:
            saw = str(exc)
        ms = (time.perf_counter() - start) * 1000
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        rows.append((f"{len(bomb)}-byte {codec} declaring {side}²", saw, "declares",
                     f"{ms:.2f} ms, peak memory +{grown:.1f} MB"))  # fmt: skip
    return rows


async def signaling_cases() -> list[tuple]:
    from receiver.web import BackgroundServer
    from signaling.app import create_app
    from signaling.config import SignalingConfig
    from signaling.handshake import server_options

    config = SignalingConfig(secret=SECRET, max_rooms=200, rooms_per_minute_per_ip=10_000,
                             max_messages_per_s=2000.0, max_message_bytes=200_000,
                             joins_per_minute_per_token=20, max_connections_per_ip=32,
                             handshake_timeout_s=3.0, sweep_every_s=0.2)  # fmt: skip
    server = BackgroundServer(create_app(config), **server_options(config))
    base = f"127.0.0.1:{await server.start()}"
    try:
        # The stalled reader late: its client shares this event loop with the server, and
        # closing it means reading what piled up, which would delay the others' timers. The
        # room cap last: it fills the server.
        rows = [await _half_open(base), *await _tokens_and_json(base), await _churn(base),
                await _stalled_reader(base), await _concurrent_rooms(base)]
    finally:
        await server.stop()
    return rows


async def _room(base: str) -> dict:
    from signaling.peer.client import create_room

    return await asyncio.to_thread(create_room, f"http://{base}")


async def _join(base: str, room: str, token: str, **options):
    from websockets.asyncio.client import connect

    ws = await connect(f"ws://{base}/rooms/{room}/ws", **options)
    await ws.send(json.dumps({"type": "join", "token": token}))
    return ws, json.loads(await asyncio.wait_for(ws.recv(), 20))


async def _close_code(base: str, room: str, first: str) -> int | None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    async with connect(f"ws://{base}/rooms/{room}/ws") as ws:
        await ws.send(first)
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 20)
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else None


async def _tokens_and_json(base: str) -> list[tuple]:
    room = await _room(base)
    stem = room["receiver_token"].rsplit(".", 1)[0]
    rows = []
    for what, signature in (("non-ASCII signature", "s\u00e9cr\u00e8t"),
                            ("lone surrogate in the signature", "\\ud800")):  # fmt: skip
        text = '{"type": "join", "token": "' + stem + "." + signature + '"}'
        rows.append((f"join, {what}", await _close_code(base, room["room"], text), 4401, "-"))
    deep = "[" * 5000 + "]" * 5000
    rows.append(("first message nested 5,000 deep", await _close_code(base, room["room"], deep),
                 4401, "-"))  # fmt: skip
    rx, _ = await _join(base, room["room"], room["receiver_token"])
    await rx.send(deep)
    reply = json.loads(await asyncio.wait_for(rx.recv(), 20))
    rows.append(("relayed message nested 5,000 deep", reply.get("message"),
                 "arrays and objects", "connection kept"))  # fmt: skip
    await rx.close()
    return rows


async def _stalled_reader(base: str) -> tuple:
    room = await _room(base)
    r = room["room"]
    tx, _ = await _join(base, r, room["sender_token"])
    stuck, stuck_welcome = await _join(base, r, room["receiver_token"], max_queue=1)
    honest, honest_welcome = await _join(base, r, room["receiver_token"])
    big = "v=0 " + base64.b64encode(os.urandom(110_000)).decode()
    start, freed, got, sent = time.monotonic(), None, 0, 0
    while freed is None and time.monotonic() - start < 60:
        await tx.send(json.dumps({"type": "offer", "to": stuck_welcome["peer"], "sdp": big}))
        await tx.send(json.dumps({"type": "offer", "to": honest_welcome["peer"], "sdp": "hi"}))
        sent += 1
        while True:
            message = json.loads(await asyncio.wait_for(honest.recv(), 20))
            if message.get("type") == "peer-left":
                freed = time.monotonic() - start
            elif message.get("sdp") == "hi":
                got += 1
                break
    for ws in (tx, stuck, honest):
        await ws.close()
    saw = "dropped (4408), seat freed" if freed is not None else "still seated after 60 s"
    return ("a receiver that stops reading", saw, "4408",
            f"{freed or 60:.1f} s, {sent * 150 // 1000} MB offered; the other receiver got "
            f"{got} of {sent} messages meanwhile")  # fmt: skip


async def _half_open(base: str) -> tuple:
    host, port = base.split(":")
    writers = []
    for _ in range(40):
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"GET /rooms/x/ws HTTP/1.1\r\nHost: a\r\n")  # and never the rest
        writers.append((reader, writer))
    start = time.monotonic()

    async def closed(reader) -> float:
        await reader.read()
        return time.monotonic() - start

    times = await asyncio.gather(*(closed(r) for r, _ in writers))
    for _, writer in writers:
        writer.close()
    at_once = sum(t < 0.5 for t in times)
    return ("40 connections that never finish their request", f"{at_once} closed at once, "
            f"the rest at the deadline", "8 closed at once", f"all closed by {max(times):.1f} s")


async def _churn(base: str) -> tuple:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    room = await _room(base)
    code = None
    for i in range(30):
        text = json.dumps({"type": "join", "token": room["receiver_token"]})
        async with connect(f"ws://{base}/rooms/{room['room']}/ws") as ws:
            await ws.send(text)
            try:
                json.loads(await asyncio.wait_for(ws.recv(), 20))
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else None
                return ("a receiver joining and leaving in a loop", code, 4429,
                        f"refused at join {i + 1}")
    return ("a receiver joining and leaving in a loop", code, 4429, "never refused")


async def _concurrent_rooms(base: str) -> tuple:
    import urllib.error
    import urllib.request

    def create(n: int) -> list[int]:
        out = []
        for _ in range(n):
            request = urllib.request.Request(f"http://{base}/rooms", method="POST")
            try:
                with urllib.request.urlopen(request, timeout=20) as response:
                    out.append(response.status)
            except urllib.error.HTTPError as exc:
                out.append(exc.code)
        return out

    def rooms() -> int:
        with urllib.request.urlopen(f"http://{base}/healthz", timeout=20) as response:
            return json.loads(response.read())["rooms"]

    held = await asyncio.to_thread(rooms)
    batches = await asyncio.gather(*(asyncio.to_thread(create, 80) for _ in range(4)))
    statuses = [s for batch in batches for s in batch]
    counts = {s: statuses.count(s) for s in sorted(set(statuses))}
    saw = ", ".join(f"{n}× {s}" for s, n in counts.items())
    want = f"{200 - held}× 201, {120 + held}× 503"
    return (f"320 room creations from 4 threads, cap 200 ({held} held)", saw, want,
            f"{await asyncio.to_thread(rooms)} rooms after")


if __name__ == "__main__":
    raise SystemExit(main())
