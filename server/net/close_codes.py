"""Websocket close codes (docs/PROTOCOL.md, "Close codes"). 1000-1011 are RFC 6455's own."""

NORMAL = 1000  # the client said "leave"
SERVICE_RESTART = 1012  # the server is shutting down (sent by uvicorn); reconnect later
MESSAGE_TOO_BIG = 1009  # a frame over the maximum message size (sent by the websocket layer)
BAD_REQUEST = 4000  # the connect URL lacks v, or the first message is not a valid auth message
UNSUPPORTED_VERSION = 4001  # the server does not speak the requested protocol version
PROTOCOL_ERRORS = 4002  # too many malformed messages in a short time
TOKEN_INVALID = 4003  # bad signature, another room's token, or a join token already used
TOKEN_EXPIRED = 4004  # join token older than its lifetime; reserve a seat again
AUTH_TIMEOUT = 4007  # no auth message within auth_timeout_s of connecting
REPLACED = 4005  # the same seat connected again; this older connection is closed
TOO_SLOW = 4008  # the client stayed behind the snapshot stream; reconnect with the resume token
ROOM_CLOSED = 4010  # no such room (disposed), or the seat no longer exists (grace period over)
FLOODING = 4029  # kept sending faster than the documented rates after warnings
