"""The one error the wire format raises."""


class BitstreamError(ValueError):
    """Input that is not a valid facecodec packet or file; the message says what and where."""
