"""The signaling server restarts mid-call: the call goes on over its data channels, both
peers join again on their own, and a new receiver can still come in."""

from __future__ import annotations

import asyncio

from codec.prior.flame_io import load_prior
from receiver.config import ReceiverConfig
from receiver.service import Receiver
from receiver.web import BackgroundServer
from sender.capture import SyntheticSource
from sender.config import SenderConfig
from sender.service import Sender
from signaling.app import create_app
from signaling.config import SignalingConfig
from signaling.peer.client import SignalingClient, create_room
from tests.recording import Recording
from tests.waiting import until

SECRET = b"restart-safe-secret-0123456789ab"


def test_signaling_restart_mid_call():
    model = load_prior()

    async def scenario():
        server = BackgroundServer(create_app(SignalingConfig(secret=SECRET)))
        port = await server.start()
        base = f"http://127.0.0.1:{port}"
        room = await asyncio.to_thread(create_room, base)
        said: dict[str, list[str]] = {"tx": [], "rx": [], "rx2": []}

        def receiver(name):
            rec = Recording(model)
            client = SignalingClient(base, room["room"], room["receiver_token"])
            return rec, Receiver(model, rec, ReceiverConfig(), client, say=said[name].append)

        first, rx = receiver("rx")
        tasks = [asyncio.create_task(rx.run())]
        tx = Sender(model, SyntheticSource(model), SenderConfig(),
                    SignalingClient(base, room["room"], room["sender_token"]),
                    say=said["tx"].append)
        sending = asyncio.create_task(tx.run())
        await until(lambda: len(first.order) >= 5, 60, "the call to start")
        await server.stop()
        n = len(first.order)
        await until(lambda: len(first.order) >= n + 10, 60, "frames with signaling down")
        assert any("signaling lost" in m for m in said["tx"] + said["rx"])
        server = BackgroundServer(create_app(SignalingConfig(secret=SECRET)), port=port)
        await server.start()
        for name in ("tx", "rx"):
            await until(lambda name=name: any("reconnected" in m for m in said[name]), 60,
                        f"{name} to rejoin signaling")
        late, rx2 = receiver("rx2")
        tasks.append(asyncio.create_task(rx2.run()))
        await until(lambda: len(late.order) >= 5, 60, "a new receiver after the restart")
        links = len(tx.links)
        for r in (rx, rx2):
            r.stop()
        await asyncio.gather(*tasks)
        tx.stop()
        summary = await sending
        await server.stop()
        return first, summary, links

    first, summary, links = asyncio.run(scenario())
    assert first.order == sorted(first.order)  # one stream throughout, never restarted
    assert summary["references"] == 1 and links == 2
