"""How `firstscan serve` and `firstscan run` start uvicorn."""

from __future__ import annotations

from typing import Any

from app.settings import Settings


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
    }
