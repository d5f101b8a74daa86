from __future__ import annotations

import re

import httpx
import pytest

from tests.factories import create_handoff_story

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def sign_in(client: httpx.AsyncClient, key: str) -> httpx.Response:
    """Signs in through the form, as a browser would; returns the sign-in POST's response."""
    form = await client.get("/console/sign-in")
    token = CSRF.search(form.text).group(1)
    return await client.post("/console/sign-in", data={"api_key": key, "csrf_token": token})


def csrf_of(page: httpx.Response) -> str:
    return CSRF.search(page.text).group(1)


@pytest.fixture
async def story(session, clock):
    return await create_handoff_story(session, now=clock.now)
