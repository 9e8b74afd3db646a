import sys

from codec.cli import main

raise SystemExit(main(["train", *sys.argv[1:]]))
