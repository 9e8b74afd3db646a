import sys

# signaling never imports the codec; its own CLI arrives with the live services.
print("facecodec signal: not built yet", file=sys.stderr)
raise SystemExit(2)
