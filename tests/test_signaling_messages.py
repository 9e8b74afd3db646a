"""The signaling protocol's typed messages: one JSON form each way, clear errors."""

from __future__ import annotations

import json

import pytest

from signaling.messages import (
    Answer,
    Control,
    Error,
    Join,
    MessageError,
    Offer,
    PeerInfo,
    PeerJoined,
    PeerLeft,
    UnknownMessageError,
    Welcome,
    parse,
    to_json,
)

MESSAGES = [
    Join("room.sender.123.sig"),
    Welcome("p1", "sender", "room", (PeerInfo("p2", "receiver"),)),
    PeerJoined("p2", "receiver"),
    PeerLeft("p2"),
    Error("too many messages"),
    Offer(to="p2", from_peer="p1", sdp="v=0 offer"),
    Answer(to="p1", sdp="v=0 answer"),
    Control(to="p2", extra={"mute": True}),
]


@pytest.mark.parametrize("msg", MESSAGES, ids=lambda m: m.type)
def test_every_message_round_trips_through_json(msg):
    data = json.loads(json.dumps(to_json(msg)))
    assert data["type"] == msg.type
    again = parse(data)
    assert again == msg and to_json(again) == data


def test_the_json_form_is_the_documented_one():
    assert to_json(Offer(to="b", from_peer="a", sdp="x")) == {
        "type": "offer", "to": "b", "from": "a", "sdp": "x"}  # fmt: skip
    assert to_json(Welcome("a", "receiver", "r")) == {
        "type": "welcome", "peer": "a", "role": "receiver", "room": "r", "peers": []}  # fmt: skip


def test_relayed_messages_keep_what_peers_add():
    data = {"type": "control", "to": "b", "pad": [1, 2], "from": "a"}
    assert to_json(parse(data)) == data


@pytest.mark.parametrize(
    "data, message",
    [([], "JSON object"), ({"type": "offer"}, "'to'"), ({"type": "welcome", "peer": 3},
     "'peer'"), ({"type": "peer-joined", "peer": "a", "role": "admin"}, "role"),
     ({"type": "welcome", "peer": "a", "role": "sender", "room": "r", "peers": [1]}, "peers")],
)  # fmt: skip
def test_malformed_messages_say_what(data, message):
    with pytest.raises(MessageError, match=message):
        parse(data)


def test_an_unknown_type_is_its_own_error():
    with pytest.raises(UnknownMessageError):
        parse({"type": "bye-bye"})


def test_a_join_never_shows_its_token():
    assert "room.sender" not in repr(Join("room.sender.123.sig"))
