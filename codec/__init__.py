"""Transport-agnostic face codec: the face prior, encoder, decoder and renderers."""
