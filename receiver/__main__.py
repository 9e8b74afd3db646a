import sys

from codec.cli import main

raise SystemExit(main(["receive", *sys.argv[1:]]))
