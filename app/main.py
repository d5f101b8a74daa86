from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import db, health
from app.alerts import item_router
from app.alerts import router as alerts_router
from app.api_docs import install_api_docs
from app.auth.cache import KeyCache
from app.body_limit import BodySizeLimit
from app.console import guards as console_guards
from app.console import router as console_router
from app.console.sessions import ConsoleSessions
from app.database_outage import install_outage_handler
from app.errors import install_error_handlers
from app.kernel.clock import Clock
from app.nul_bytes import NulByteReplacement
from app.openapi import install_openapi
from app.pacing import settle_heap
from app.public import router as public_router
from app.public.links import TrackLinks
from app.public.throttle import PublicThrottle
from app.replay import ReplayOnConflict
from app.security_headers import SecurityHeaders
from app.settings import Settings, load_settings
from app.shipments import router as shipments_router
from app.signing import resolve_secret_key
from app.tracking import router as tracking_router

STATIC_DIR = Path(__file__).parent / "static"

DESCRIPTION = """
firstscan maps orders to carrier tracking numbers, polls the carriers and tells ops, agents and
customers the truth about each parcel, above all when a label was announced but the carrier never
scanned the parcel. Every `/v1` route except the public ones needs `Authorization: Bearer <key>`.
Errors are RFC 9457 problem details.
"""


def create_app(
    settings: Settings | None = None,
    *,
    engine: AsyncEngine | None = None,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    clock: Clock = db.utcnow,
) -> FastAPI:
    """Builds the API. Tests pass their own engine/sessionmaker and clock."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if engine is not None:  # the caller owns it (tests)
            yield
            return
        app.state.engine = db.create_engine(
            settings.database_url, pool_size=settings.database_pool_size
        )
        app.state.sessionmaker = db.create_sessionmaker(app.state.engine)
        app.state.read_pool = await db.create_read_pool(
            settings.database_url, size=settings.database_pool_size
        )
        settle_heap()
        try:
            yield
        finally:
            if app.state.read_pool is not None:
                await app.state.read_pool.close()
            await app.state.engine.dispose()

    app = FastAPI(
        title="firstscan",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by install_api_docs, under its own Content-Security-Policy
        redoc_url=None,  # one documentation page is enough: Swagger UI
        generate_unique_id_function=_operation_id,
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.key_cache = KeyCache()
    if engine is not None:
        app.state.engine = engine
        app.state.sessionmaker = sessionmaker or db.create_sessionmaker(engine)
    install_error_handlers(app)
    install_api_docs(app)
    app.include_router(health.router)
    app.include_router(shipments_router.router)
    app.include_router(alerts_router.router)
    app.include_router(item_router.router)
    app.include_router(tracking_router.router)
    install_pages(app, settings, clock)
    app.add_middleware(ReplayOnConflict)  # inside the body limit, which counts the body once
    install_openapi(app, extra_models=tracking_router.OPENAPI_MODELS)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(NulByteReplacement)
    app.add_middleware(SecurityHeaders)  # the outermost: every response carries them
    return app


def _operation_id(route: APIRoute) -> str:
    # The handler's name (get_order, resolve_alert): stable, and what the document's links name.
    return route.name


def install_pages(app: FastAPI, settings: Settings, clock: Clock) -> None:
    """The customer pages and the agent console: their signing key, limits, routes and files."""
    secret_key = resolve_secret_key(settings.secret_key)
    app.state.track_links = TrackLinks(
        secret_key, max_age=timedelta(days=settings.track_link_days), clock=clock
    )
    app.state.console_sessions = ConsoleSessions(
        secret_key, max_age=timedelta(hours=settings.console_session_hours), clock=clock
    )
    app.state.public_throttle = PublicThrottle(
        per_address=settings.public_rate_limit_per_address,
        per_order=settings.public_rate_limit_per_order,
    )
    # The UPS push token endpoint (app/tracking/router.py) is as public as the lookups.
    app.state.push_token_throttle = PublicThrottle(
        per_address=settings.public_rate_limit_per_address,
        per_order=settings.public_rate_limit_per_order,
        what="token requests",
    )
    app.include_router(public_router.router)
    app.include_router(console_router.router)
    for exception, handler in console_guards.EXCEPTION_HANDLERS.items():
        app.add_exception_handler(exception, handler)
    install_outage_handler(
        app,
        pages={
            "/track": public_router.unavailable_page,
            "/console": console_guards.unavailable_page,
        },
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        # Browsers ask for it on every page that names none (/docs among them).
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")
