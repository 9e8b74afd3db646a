import subprocess
import sys
from pathlib import Path

import pytest

from codec.cli import COMMANDS, main


def test_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("demo", "send", "receive", "encode", "decode", "build-prior", "train"):
        assert name in out


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_is_built_and_has_help(command, capsys):
    try:
        code = main([command, "--help"])
    except SystemExit as exc:  # argparse exits after printing help
        code = exc.code
    assert code == 0
    assert f"facecodec {command}" in capsys.readouterr().out


def test_unknown_command_exits_2(capsys):
    assert main(["frobnicate"]) == 2
    assert "unknown command" in capsys.readouterr().err


def test_console_script_and_python_m_agree():
    """The installed `facecodec` script and `python -m codec` are the same program."""
    script = Path(sys.executable).with_name("facecodec")
    assert script.is_file(), "pip install -e . installs the facecodec console script"
    runs = [subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            for cmd in ([str(script), "--help"], [sys.executable, "-m", "codec", "--help"])]
    assert [r.returncode for r in runs] == [0, 0] and "build-prior" in runs[0].stdout
    assert runs[0].stdout == runs[1].stdout
    bad = subprocess.run([str(script), "frobnicate"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "unknown command" in bad.stderr
