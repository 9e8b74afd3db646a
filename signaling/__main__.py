import sys

from signaling.cli import main

raise SystemExit(main(sys.argv[1:]))
