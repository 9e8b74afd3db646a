"""What every live command shares: where its room is, how a room is made when none is
given, and how the command's coroutine is run."""

from __future__ import annotations

import argparse
import asyncio
import sys

OTHER_SIDE = {"sender": ("receiving", "receive", "receiver_token"),
              "receiver": ("sending", "send", "sender_token")}  # fmt: skip


def add_live_options(p: argparse.ArgumentParser) -> None:
    """Where a live peer finds its room: the signaling server, the room and its token."""
    p.add_argument("--signal", default="http://127.0.0.1:8765", metavar="URL",
                   help="signaling server: http(s):// or ws(s):// (default: %(default)s)")
    p.add_argument("--ca-file", default=None, metavar="PEM",
                   help="trust this CA (or self-signed certificate) for an https/wss server "
                   "(default: the system's CAs)")
    p.add_argument("--room", default=None, help="room id (from POST /rooms)")
    p.add_argument("--token", default=None, help="this peer's token for the room")
    p.add_argument("--api-key", default=None, help="bearer key when creating a room")
    p.add_argument("--ice-server", action="append", default=[], metavar="URL",
                   help="STUN/TURN server, repeatable: stun:HOST:PORT or "
                   "turn:USER:PASS@HOST:PORT (default: none, fine on one host or LAN)")


def check_live_options(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if (args.room is None) != (args.token is None):
        p.error("give both --room and --token, or neither (to create a room)")


async def room_and_token(args: argparse.Namespace, role: str) -> tuple[str, str]:
    """The room and token the flags give or, with neither, a new room's, printing the other
    side's command to stderr."""
    from signaling.peer.client import create_room

    if args.room is not None:
        return args.room, args.token
    created = await asyncio.to_thread(create_room, args.signal, args.api_key, 10.0,
                                      args.ca_file)  # fmt: skip
    side, command, token = OTHER_SIDE[role]
    print(f"room {created['room']} created; on the {side} side run:\n  facecodec {command} "
          f"--signal {args.signal} --room {created['room']} --token {created[token]}",
          file=sys.stderr, flush=True)  # fmt: skip
    return created["room"], created[f"{role}_token"]


def run_live(prog: str, coro, errors: tuple) -> tuple[int, dict | None]:
    """Run a live command's coroutine: (0, its summary), or a user-caused error as one line
    (exit 2), or Ctrl-C (exit 130) with no traceback."""
    try:
        return 0, asyncio.run(coro)
    except errors as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2, None
    except KeyboardInterrupt:
        return 130, None
