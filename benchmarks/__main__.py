import sys

from codec.cli import main

raise SystemExit(main(["bench", *sys.argv[1:]]))
