import sys

from codec.cli import main

raise SystemExit(main(["send", *sys.argv[1:]]))
