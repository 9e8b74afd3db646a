"""What one data-channel message costs on the wire beyond its payload.

IPv4 20 + UDP 8 + DTLS 1.2 record with AES-GCM (13 header + 8 explicit nonce + 16 tag)
+ SCTP common header 12 + DATA chunk 16 = 93 bytes; SCTP pads chunks to 4 bytes, which
this ignores. Shared by the offline byte counts and the live stats, so they agree.
"""

TRANSPORT_OVERHEAD = 93
