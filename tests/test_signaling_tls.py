"""Signaling over TLS: a self-signed certificate, https:// rooms and a call over wss://."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress

import pytest

from codec.prior.flame_io import load_prior
from receiver.config import ReceiverConfig
from receiver.service import Receiver
from sender.capture import SyntheticSource
from sender.config import SenderConfig
from sender.service import Sender
from signaling.app import create_app
from signaling.config import SignalingConfig
from signaling.peer.client import SignalingClient, SignalingError, create_room
from tests.recording import Recording
from tests.servers import ServerThread
from tests.waiting import until


def self_signed(folder):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "facecodec test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    return str(cert_file), str(key_file)


@pytest.fixture()
def tls_server(tmp_path):
    cert, key = self_signed(tmp_path)
    app = create_app(SignalingConfig(secret=b"k" * 32))
    with ServerThread(app, ssl_certfile=cert, ssl_keyfile=key) as srv:
        yield f"https://127.0.0.1:{srv.port}", cert


def test_an_unknown_certificate_is_refused_with_a_hint(tls_server):
    base, _cert = tls_server
    with pytest.raises(SignalingError, match="--ca-file"):
        create_room(base)


def test_a_call_over_wss(tls_server):
    base, cert = tls_server
    model = load_prior()
    room = create_room(base, ca_file=cert)
    wss = base.replace("https://", "wss://")
    rec = Recording(model)

    async def scenario():
        rx = Receiver(model, rec, ReceiverConfig(),
                      SignalingClient(wss, room["room"], room["receiver_token"], cert),
                      say=lambda _m: None)
        receiving = asyncio.create_task(rx.run())
        tx = Sender(model, SyntheticSource(model), SenderConfig(max_frames=30),
                    SignalingClient(base, room["room"], room["sender_token"], cert),
                    say=lambda _m: None)
        sending = asyncio.create_task(tx.run())
        await until(lambda: len(rec.order) >= 10, 60, "frames over the wss-signaled call")
        tx.stop()
        await sending
        rx.stop()
        await receiving

    asyncio.run(scenario())
    assert len(rec.order) >= 10
