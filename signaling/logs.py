"""Server logging with no secrets in it.

uvicorn prints each WebSocket handshake with its path and query string at INFO, access log
or not, so a client that puts its room token in the URL would have it printed for anyone
who reads the log to reuse. Every record through the server's handlers has its query
strings replaced by `?<redacted>` first.
"""

from __future__ import annotations

import copy
import logging
import re

_QUERY = re.compile(r"\?[^\s\"']*")


def redact(text: str) -> str:
    return _QUERY.sub("?<redacted>", text)


class RedactQueries(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def uvicorn_log_config() -> dict:
    """uvicorn's own logging set-up, with the filter on every handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_queries"] = {"()": RedactQueries}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact_queries")
    return config
