"""Tools around the wire format that no decoder runs: the hostile-input generator shared by
the fuzz tests and `python -m benchmarks.bitstream_fuzz`."""
