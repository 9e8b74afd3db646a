import subprocess
import sys

from codec.cli import main


def test_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("demo", "send", "receive", "encode", "decode", "build-prior", "train"):
        assert name in out


def test_unbuilt_command_says_so_in_one_line(capsys):
    assert main(["train"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "facecodec train: not built yet"


def test_unknown_command_exits_2(capsys):
    assert main(["frobnicate"]) == 2
    assert "unknown command" in capsys.readouterr().err


def test_console_script_and_python_m_agree():
    out = subprocess.run([sys.executable, "-m", "codec", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "build-prior" in out.stdout
