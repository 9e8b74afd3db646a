import subprocess
import sys

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
    out = subprocess.run([sys.executable, "-m", "codec", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "build-prior" in out.stdout
