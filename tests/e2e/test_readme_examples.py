"""Every curl example in the README works against the demo, as a new user would type it: the
commands are read from the README itself, run against the app with the demo loaded and one
worker pass done, on a fixed clock."""

from __future__ import annotations

import re
import shlex
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from app import db
from app.alerts.models import Alert
from app.auth import service as auth_service
from app.auth.roles import Role
from app.demo import load_demo
from app.main import create_app
from app.scheduler import run_once
from app.settings import Settings
from app.wiring import build_worker_context

README = Path(__file__).resolve().parents[2] / "README.md"
NOW = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)
BLOCK = re.compile(r"```sh\n(.*?)```", re.DOTALL)


def readme_curls() -> list[str]:
    """Each curl command of the README's shell blocks, with its continuation lines (a backslash
    at the end, or a quoted JSON body that goes on over several lines)."""
    commands: list[str] = []
    for block in BLOCK.findall(README.read_text()):
        current: list[str] = []
        for line in block.replace("\\\n", " ").splitlines():
            if line.strip().startswith("curl "):
                current = [line.strip()]
                commands.append("")
            elif current and not _complete(" ".join(current)):
                current.append(line)
            else:
                current = []
            if current:
                commands[-1] = "\n".join(current)
    return commands


def _complete(command: str) -> bool:
    try:
        shlex.split(command)
    except ValueError:  # a quote is still open: the next line belongs to this command
        return False
    return True


def to_request(command: str, variables: dict[str, str]) -> tuple[str, str, dict, bytes | None]:
    """(method, path, headers, body) of a curl command line; only the flags the README uses."""
    for name, value in variables.items():
        command = command.replace(f"${name}", value)
    words = shlex.split(command.split("  #")[0])[1:]
    method, headers, body, url = "GET", {}, None, ""
    while words:
        word = words.pop(0)
        if word == "-X":
            method = words.pop(0)
        elif word == "-H":
            name, value = words.pop(0).split(":", 1)
            headers[name.strip()] = value.strip()
        elif word == "-d":
            body = words.pop(0).encode()
            method = "POST" if method == "GET" else method
        else:
            url = word
    return method, url.removeprefix("http://127.0.0.1:8000"), headers, body


def test_the_readme_has_the_curl_examples_this_test_runs():
    assert len(readme_curls()) >= 7


@pytest.fixture
async def demo_app(committing_sessionmaker, empty_database_url):
    sessionmaker = committing_sessionmaker
    settings = Settings(database_url=empty_database_url)
    async with db.session_scope(sessionmaker) as session:
        await load_demo(session, now=NOW)
        _, key = await auth_service.create_key(session, role=Role.ADMIN, name="you", actor="t")
    async with httpx.AsyncClient() as http:
        context = build_worker_context(
            settings, sessionmaker=sessionmaker, http=http, clock=lambda: NOW
        )
        await run_once(context)
    engine = sessionmaker.kw["bind"]
    return create_app(settings, engine=engine, sessionmaker=sessionmaker, clock=lambda: NOW), key


async def test_every_curl_example_in_the_readme_works_against_the_demo(
    demo_app, committing_sessionmaker
):
    app, key = demo_app
    sessionmaker = committing_sessionmaker
    async with sessionmaker() as session:
        alert = (await session.execute(
            Alert.__table__.select().where(Alert.rule == "handoff_gap")
        )).first()  # fmt: skip
    variables = {"KEY": key, "ALERT": str(alert.id), "ITEM": str(alert.item_id)}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        for command in readme_curls():
            method, path, headers, body = to_request(command, variables)
            response = await client.request(method, path, headers=headers, content=body)
            assert response.status_code < 400, (command, response.status_code, response.text)
