"""What each peer of a call runs to reach the other: the signaling client, ICE servers, SCTP
timers and the flags every live command shares. Both services import it; the signaling
server does not."""
