"""`firstscan run` (what `make run` calls): the whole demo in one process tree."""

from __future__ import annotations

import asyncio
import ctypes
import signal
import subprocess
import sys

import uvicorn

from app import db, migrate
from app.auth import repository as auth_repository
from app.auth import service as auth_service
from app.auth.roles import Role
from app.demo import SEED_ORDER_NUMBER, SEED_POSTAL_CODE, load_demo
from app.serving import uvicorn_options
from app.settings import Settings

DEMO_KEY_NAME = "demo admin (make run)"
PR_SET_PDEATHSIG = 1


async def _prepare(settings: Settings) -> str:
    """Loads the demo orders and issues a fresh demo key, revoking the previous one."""
    engine = db.create_engine(settings.database_url, pool_size=2)
    try:
        async with db.session_scope(db.create_sessionmaker(engine)) as session:
            now = db.utcnow()
            await load_demo(session, now=now)
            for key in await auth_repository.list_keys(session):
                if key.name == DEMO_KEY_NAME and key.revoked_at is None:
                    await auth_service.revoke_key(session, key_id=key.id, actor="demo", now=now)
            _, raw = await auth_service.create_key(
                session, role=Role.ADMIN, name=DEMO_KEY_NAME, actor="demo"
            )
            return raw
    finally:
        await engine.dispose()


def _die_with_parent() -> None:
    """Linux: the worker gets SIGTERM when this process dies, however it dies (uvicorn re-raises
    the signal that stopped it, which skips our `finally`)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:  # not Linux: the finally block below still stops the worker on Ctrl-C
        pass


def run_demo(settings: Settings, *, host: str, port: int) -> None:
    migrate.upgrade(settings.database_url)
    key = asyncio.run(_prepare(settings))
    base = f"http://{host}:{port}"
    print(  # noqa: T201 - the banner is the point of this command
        f"""
firstscan demo ({settings.carrier_mode} carriers, {settings.database_url})
  API docs        {base}/docs
  agent console   {base}/console          (sign in with the key below)
  customer page   {base}/track/{SEED_ORDER_NUMBER}   (postal code {SEED_POSTAL_CODE})
  demo admin key  {key}
                  (shown once; a new one is issued at every start)
  try             curl -H 'Authorization: Bearer {key}' {base}/v1/lookup/{SEED_ORDER_NUMBER}
A worker runs beside the API: within a minute the seed story's alert appears at
  {base}/v1/alerts
""",
        flush=True,
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker"], preexec_fn=_die_with_parent
    )
    try:
        uvicorn.run(
            "app.main:create_app",
            factory=True,
            host=host,
            port=port,
            **uvicorn_options(settings),
        )
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=25)
        except subprocess.TimeoutExpired:
            worker.kill()
