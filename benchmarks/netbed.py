"""A network of Linux namespaces for live-call tests: sender, receiver and a public host
(signaling, TURN) behind one router, which can block direct UDP between the peers, drop a
share of the sender's packets, or delay a host's traffic. Made by the test, torn down after
it even when it fails; it only ever touches the namespaces and links it created.

    tx 10.77.1.2 ── 10.77.1.1 ┐
    rx 10.77.2.2 ── 10.77.2.1 ┼ router
    pub 10.77.3.2 ─ 10.77.3.1 ┘

With `nat=True` each peer sits behind its own NAT (iptables MASQUERADE), as at home or in
a hotel: the router knows only the NATs' public addresses, so the peers' own addresses are
unreachable from anywhere else and a call needs STUN (or TURN) to find the way.

    tx 10.77.1.2 ── 10.77.1.1 NAT 10.77.4.2 ── 10.77.4.1 ┐
    rx 10.77.2.2 ── 10.77.2.1 NAT 10.77.5.2 ── 10.77.5.1 ┼ router
    pub 10.77.3.2 ───────────────────────────── 10.77.3.1 ┘
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HOSTS = {"tx": 1, "rx": 2, "pub": 3}
PEERS = ("tx", "rx")
TURN_USER, TURN_PASS = "fcuser", "fc-relay-pass"


def available() -> str | None:
    """Why the bed cannot be made here, or None."""
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    for tool in ("ip", "iptables", "turnserver"):
        if shutil.which(tool) is None:
            return f"needs {tool} (apt install iproute2 iptables coturn)"
    probe = subprocess.run(["ip", "netns", "add", "fcprobe"], capture_output=True)
    subprocess.run(["ip", "netns", "del", "fcprobe"], capture_output=True)
    return None if probe.returncode == 0 else "cannot create network namespaces here"


def _run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


class NetBed:
    def __init__(self, tag: str | None = None, nat: bool = False):
        self.tag, self.nat = tag or f"{os.getpid() % 100000}", nat
        hosts = [*HOSTS, "rt", *([f"nat{p}" for p in PEERS] if nat else [])]
        self.names = {h: f"fc{h}{self.tag}" for h in hosts}
        self.procs: list[subprocess.Popen] = []

    def ip(self, host: str) -> str:
        return f"10.77.{HOSTS[host]}.2"

    def _net(self, host: str) -> str:
        """The subnet the router sees `host` in: its own, or its NAT's public side."""
        n = HOSTS[host] + (3 if self.nat and host in PEERS else 0)
        return f"10.77.{n}.0/24"

    def __enter__(self) -> NetBed:
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _build(self) -> None:
        rt = self.names["rt"]
        for name in self.names.values():
            _run("ip", "netns", "add", name)
            _run("ip", "-n", name, "link", "set", "lo", "up")
        _run("ip", "netns", "exec", rt, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        for host, n in HOSTS.items():
            ns, a, b = self.names[host], f"fa{n}{self.tag}", f"fb{n}{self.tag}"
            if not (self.nat and host in PEERS):
                self._wire(ns, a, rt, b, n)
                continue
            nat, pub = self.names[f"nat{host}"], f"fp{n}{self.tag}"
            _run("ip", "netns", "exec", nat, "sysctl", "-qw", "net.ipv4.ip_forward=1")
            self._wire(ns, a, nat, f"fn{n}{self.tag}", n)
            self._wire(nat, pub, rt, b, n + 3)
            _run("ip", "netns", "exec", nat, "iptables", "-t", "nat", "-A", "POSTROUTING",
                 "-o", pub, "-j", "MASQUERADE")
            # A home router's firewall: what nobody inside asked for is dropped unseen. (The
            # NAT's own kernel answering it would leave a connection entry that makes the
            # next outgoing packet to that peer take a new port: no hole could be punched.)
            _run("ip", "netns", "exec", nat, "iptables", "-A", "INPUT", "-i", pub, "-j", "DROP")

    @staticmethod
    def _wire(inner: str, a: str, outer: str, b: str, n: int) -> None:
        """A veth pair: `inner` gets 10.77.n.2 and routes everything via `outer`'s 10.77.n.1."""
        _run("ip", "link", "add", a, "netns", inner, "type", "veth", "peer", b, "netns", outer)
        _run("ip", "-n", inner, "addr", "add", f"10.77.{n}.2/24", "dev", a)
        _run("ip", "-n", outer, "addr", "add", f"10.77.{n}.1/24", "dev", b)
        _run("ip", "-n", inner, "link", "set", a, "up")
        _run("ip", "-n", outer, "link", "set", b, "up")
        _run("ip", "-n", inner, "route", "add", "default", "via", f"10.77.{n}.1")

    # -- impairments, applied by the router's kernel ----------------------------------------
    def block_direct_udp(self) -> None:
        """The peers cannot reach each other over UDP (as behind two symmetric NATs)."""
        for a, b in (("tx", "rx"), ("rx", "tx")):
            self._router("-A", "FORWARD", "-p", "udp", "-s", self._net(a), "-d", self._net(b),
                         "-j", "DROP")

    def drop_from_sender(self, share: float) -> None:
        """Drop this share of the sender's UDP packets at random, whatever their target
        (matched on the link they arrive by, so a delayed packet is not judged twice)."""
        self._router("-A", "FORWARD", "-p", "udp", "-i", self._link("tx"), "-m", "statistic",
                     "--mode", "random", "--probability", f"{share:.4f}", "-j", "DROP")

    def delay(self, host: str, ms: float, jitter_ms: float, folder: Path) -> None:
        """Every packet to and from `host` held `ms` ± `jitter_ms` by the router (each way,
        so the round trip grows by twice that): routed through a user-space delay line
        between two TUN devices (`benchmarks/delayline.py`), since this kernel has no netem."""
        n, rt = HOSTS[host], self.names["rt"]
        into, out = f"fdi{n}{self.tag}", f"fdo{n}{self.tag}"
        log = folder / f"delay-{host}.log"
        line = self.spawn("rt", [sys.executable, "-m", "benchmarks.delayline", into, out,
                                 "--delay-ms", str(ms), "--jitter-ms", str(jitter_ms)], log)
        deadline = time.monotonic() + 30
        while "ready" not in log.read_text():
            if line.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the delay line did not start: {log.read_text()[-500:]}")
            time.sleep(0.05)
        table = str(100 + n)
        for dev in (into, out):
            _run("ip", "-n", rt, "link", "set", dev, "up")
        for conf in ("all", out):
            _run("ip", "netns", "exec", rt, "sysctl", "-qw", f"net.ipv4.conf.{conf}.rp_filter=0")
        _run("ip", "-n", rt, "route", "add", "default", "dev", into, "table", table)
        _run("ip", "-n", rt, "rule", "add", "iif", out, "lookup", "main", "pref", "100")
        _run("ip", "-n", rt, "rule", "add", "iif", self._link(host), "lookup", table,
             "pref", "200")
        _run("ip", "-n", rt, "rule", "add", "to", self._net(host), "lookup", table,
             "pref", "300")

    def cap_sender(self, kbit: int) -> None:
        """The sender's uplink shaped to `kbit` kbit/s (tc tbf; what waits over 200 ms drops)."""
        dev = f"fa{HOSTS['tx']}{self.tag}"
        _run("ip", "netns", "exec", self.names["tx"], "tc", "qdisc", "add", "dev", dev, "root",
             "tbf", "rate", f"{kbit}kbit", "burst", "1600", "latency", "200ms")

    def wire_bytes(self, host: str) -> tuple[int, int]:
        """Bytes `host` has sent and received on its link, as its kernel counts them (every
        header included)."""
        dev = f"fa{HOSTS[host]}{self.tag}"
        values = self.python(host, "print(*(open(f'/sys/class/net/" + dev +
                             "/statistics/{k}_bytes').read().strip() for k in ('tx', 'rx')))")
        tx, rx = values.split()
        return int(tx), int(rx)

    def cut(self, host: str, on: bool = True) -> None:
        """Cut `host` off the network (every packet to or from it dropped), or restore it."""
        for flag in ("-s", "-d"):
            self._router("-I" if on else "-D", "FORWARD", flag, self._net(host), "-j", "DROP")

    def _link(self, host: str) -> str:
        """The router's end of `host`'s link."""
        return f"fb{HOSTS[host]}{self.tag}"

    def _router(self, *rule: str) -> None:
        _run("ip", "netns", "exec", self.names["rt"], "iptables", *rule)

    # -- processes ----------------------------------------------------------------------------
    def spawn(self, host: str, args: list[str], log: Path) -> subprocess.Popen:
        cmd = ["ip", "netns", "exec", self.names[host], *args]
        out = log.open("w")
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, text=True)
        self.procs.append(proc)
        return proc

    def start_public(self, folder: Path, turn: bool = False) -> tuple[str, dict]:
        """Signaling (and with `turn`, coturn) on the public host; returns its URL and a
        room made from the sender's host."""
        pub = self.ip("pub")
        secret = folder / "secret"
        secret.write_text(os.urandom(24).hex())
        self.spawn("pub", [sys.executable, "-m", "signaling", "--host", pub, "--port", "8765",
                           "--secret-file", str(secret)], folder / "signal.log")  # fmt: skip
        if turn:
            self.spawn("pub", ["turnserver", "-n", "-v", "--no-cli", "--no-tls", "--no-dtls",
                               f"--listening-ip={pub}", f"--relay-ip={pub}",
                               "--listening-port=3478", "--lt-cred-mech",
                               f"--user={TURN_USER}:{TURN_PASS}", "--realm=facecodec",
                               "--log-file=stdout", "--simple-log"], folder / "turn.log")
        base = f"http://{pub}:8765"
        code = (f"import json; from signaling.peer.client import create_room; "
                f"print(json.dumps(create_room({base!r})))")
        deadline = time.monotonic() + 60
        while True:
            try:
                return base, json.loads(self.python("tx", code))
            except (subprocess.CalledProcessError, ValueError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def turn_url(self) -> str:
        return f"turn:{TURN_USER}:{TURN_PASS}@{self.ip('pub')}:3478"

    def python(self, host: str, code: str, timeout: float = 60) -> str:
        cmd = ["ip", "netns", "exec", self.names[host], sys.executable, "-c", code]
        return subprocess.run(cmd, check=True, capture_output=True, text=True,
                              timeout=timeout).stdout

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        for name in self.names.values():  # deleting a namespace deletes its links
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
