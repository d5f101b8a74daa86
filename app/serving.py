"""How `firstscan serve` and `firstscan run` start uvicorn."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from uvicorn.config import LOGGING_CONFIG

from app.settings import Settings

# uvicorn's access-log record: (client address, method, path with query, HTTP version, status).
_ACCESS_PATH_ARG = 2
_SIGNED_LINK = re.compile(r"(/track/t/)[^/?#\s]+")


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn.run keyword arguments for this configuration.

    X-Forwarded-For and X-Forwarded-Proto are believed only from the proxies named in
    FIRSTSCAN_FORWARDED_ALLOW_IPS. Unset, from no one: uvicorn's own default believes any
    process on 127.0.0.1, so anything on the machine (or a proxy that passes the header on
    unchanged) could pick the client address the customer endpoints' rate limit counts.
    """
    proxies = settings.forwarded_allow_ips
    return {
        "proxy_headers": proxies is not None,
        "forwarded_allow_ips": proxies if proxies is not None else "",
        "log_level": settings.log_level.lower(),
        "log_config": build_log_config(),
    }


def build_log_config() -> dict[str, Any]:
    """uvicorn's logging, with signed customer links cut out of the access log."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"signed_links": {"()": f"{__name__}.{RedactSignedLinks.__name__}"}}
    config["handlers"]["access"]["filters"] = ["signed_links"]
    return config


class RedactSignedLinks(logging.Filter):
    """Logs /track/t/… instead of the token: whoever holds a signed link sees that order."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) > _ACCESS_PATH_ARG:
            path = args[_ACCESS_PATH_ARG]
            if isinstance(path, str):
                redacted = _SIGNED_LINK.sub(r"\1…", path)
                record.args = (*args[:_ACCESS_PATH_ARG], redacted, *args[_ACCESS_PATH_ARG + 1 :])
        return True
