"""`facecodec signal`: run the signaling server under uvicorn."""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
from pathlib import Path

from signaling.config import SignalingConfig

SECRET_ENV = "FACECODEC_SIGNAL_SECRET"
API_KEY_ENV = "FACECODEC_SIGNAL_API_KEY"


def parse(argv: list[str]) -> argparse.Namespace:
    d = SignalingConfig(secret=b"")
    p = argparse.ArgumentParser(
        prog="facecodec signal",
        description="Signaling server: POST /rooms creates a room and returns a sender and a "
        "receiver token; peers join at WS /rooms/{room}/ws and send {\"type\": \"join\", "
        "\"token\": ...} first; docs at /docs.",
    )
    p.add_argument("--host", default="127.0.0.1", help="bind address (default: %(default)s)")
    p.add_argument("--port", type=int, default=8765, help="port (default: %(default)s)")
    p.add_argument("--secret-file", type=Path, default=None,
                   help=f"file holding the token HMAC key (else ${SECRET_ENV}, else a random "
                   "key: tokens then die with the process)")
    p.add_argument("--api-key-file", type=Path, default=None,
                   help=f"require this bearer key for POST /rooms (else ${API_KEY_ENV}, else "
                   "anyone may create rooms)")
    p.add_argument("--cert-file", type=Path, default=None, metavar="PEM",
                   help="serve HTTPS and WSS with this certificate chain (with --key-file)")
    p.add_argument("--key-file", type=Path, default=None, metavar="PEM",
                   help="the certificate's private key")
    p.add_argument("--max-receivers", type=int, default=d.max_receivers,
                   help="receivers per room (default: %(default)s)")
    p.add_argument("--token-ttl", type=float, default=d.token_ttl_s,
                   help="token and room lifetime in seconds (default: %(default)s)")
    p.add_argument("--room-idle", type=float, default=d.room_idle_s,
                   help="drop an empty room after this many seconds (default: %(default)s)")
    args = p.parse_args(argv)
    if (args.cert_file is None) != (args.key_file is None):
        p.error("give both --cert-file and --key-file, or neither (plain HTTP)")
    return args


def config_from(args: argparse.Namespace) -> SignalingConfig:
    return SignalingConfig(
        secret=_secret(args.secret_file),
        api_key=_read(args.api_key_file) or os.environ.get(API_KEY_ENV) or None,
        max_receivers=args.max_receivers,
        token_ttl_s=args.token_ttl,
        room_idle_s=args.room_idle,
    )


def _secret(path: Path | None) -> bytes:
    text = _read(path) or os.environ.get(SECRET_ENV, "")
    if text:
        return text.encode()
    logging.getLogger("facecodec.signaling").warning(
        "no --secret-file or $%s: using a random key; tokens end with this process", SECRET_ENV
    )
    return secrets.token_bytes(32)


def _read(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise SystemExit(f"facecodec signal: cannot read {path}: {exc.strerror}") from None


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    from signaling.app import create_app
    from signaling.handshake import server_options
    from signaling.logs import uvicorn_log_config

    args = parse(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = config_from(args)
    app = create_app(config)
    # Tokens travel in the join message; a URL's query string is redacted from every line.
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", access_log=False,
                log_config=uvicorn_log_config(), ssl_certfile=args.cert_file,
                ssl_keyfile=args.key_file, **server_options(config))
    return 0
