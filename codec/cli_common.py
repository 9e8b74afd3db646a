"""Pieces every `facecodec` subcommand shares: the common flags and how results are printed."""

from __future__ import annotations

import argparse
import json


def add_prior_and_json(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--flame", default=None,
        help="FLAME model file (else $FACECODEC_FLAME, else the built-in prior)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def report(summary: dict, as_json: bool) -> None:
    """One JSON object, or aligned `name: value` lines for people."""
    if as_json:
        print(json.dumps(summary))
        return
    width = max(map(len, summary), default=0)
    for k, v in summary.items():
        print(f"{k:>{width}}: {v}")
