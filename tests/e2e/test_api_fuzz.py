"""Schemathesis generates requests from our own OpenAPI document, valid and invalid, and sends
them to the real app over loopback, on SQLite and (when configured) PostgreSQL. Every answer must
be documented (status code, media type, body schema), no input may produce a 5xx, and a request
the document calls invalid must be refused.

The runs are random: each session draws a seed (printed in the header and in every failure) and
`FIRSTSCAN_FUZZ_SEED=<seed>` replays it. `FIRSTSCAN_FUZZ_EXAMPLES` sets the examples per operation
and mode. `make fuzz` (FIRSTSCAN_FUZZ_DEEP=1) runs many more, adds the stateful run that follows
the document's links, and includes the operations CI leaves out (FIXED_ELSEWHERE).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from app import db, demo, migrate
from app.auth import service as auth_service
from app.auth.roles import Role
from app.main import create_app
from app.scheduler import run_worker
from app.settings import Settings
from tests.conftest import BACKENDS, throwaway_database
from tests.support.waiting import wait_until

SEED = int(os.environ.get("FIRSTSCAN_FUZZ_SEED") or secrets.randbelow(2**32))
EXAMPLES = int(os.environ.get("FIRSTSCAN_FUZZ_EXAMPLES") or 80)
DEEP = os.environ.get("FIRSTSCAN_FUZZ_DEEP", "") not in ("", "0", "false")
JOURNEY_RUNS = 10  # each ends at its examples or when Hypothesis sees the server's data move
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _prepare(settings: Settings) -> str:
    """The demo orders after one worker pass (so there are legs, events and open alerts for the
    fuzzer's numbers and ids to hit) and an admin key."""
    engine = db.create_engine(settings.database_url)
    try:
        async with db.session_scope(db.create_sessionmaker(engine)) as session:
            await demo.load_demo(session, now=db.utcnow())
        await run_worker(settings, once=True)
        async with db.session_scope(db.create_sessionmaker(engine)) as session:
            _, raw = await auth_service.create_key(session, role=Role.ADMIN, name="fuzz", actor="t")
            return raw
    finally:
        await engine.dispose()


@pytest.fixture(scope="module", autouse=True)
def _announce_seed(request) -> None:
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"fuzz seed: FIRSTSCAN_FUZZ_SEED={SEED} ({EXAMPLES} examples)")


@pytest.fixture(scope="module", params=BACKENDS)
def fuzz_database_url(request, tmp_path_factory) -> Iterator[str]:
    with throwaway_database(request.param, tmp_path_factory.mktemp("fuzz")) as url:
        yield url


@pytest.fixture(scope="module")
def live_api(fuzz_database_url) -> Iterator[tuple[str, str]]:
    settings = Settings(
        database_url=fuzz_database_url,
        webhook_secret="fuzz-secret",
        ups_push_credential="fuzz-ups",
        usps_push_secret="fuzz-usps",
        fedex_push_security_token="fuzz-fedex",
    )
    migrate.upgrade(fuzz_database_url)
    key = asyncio.run(_prepare(settings))
    port = _free_port()
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: bool(server.started), within=10, what="the API's start")
    yield f"http://127.0.0.1:{port}", key
    server.should_exit = True
    thread.join(timeout=10)


SCHEMA = schemathesis.openapi.from_dict(create_app(Settings()).openapi())
OPERATIONS = {op.ok().label: op.ok() for op in SCHEMA.get_all_operations()}
# Failures found here whose fix belongs to another part of issue 12, left out of CI (not of
# `make fuzz`) until it lands, so that the randomized run stays a reliable signal.
FIXED_ELSEWHERE: dict[str, str] = {}


def _operation_params() -> list[Any]:
    return [
        pytest.param(
            label,
            marks=pytest.mark.skipif(
                label in FIXED_ELSEWHERE and not DEEP, reason=FIXED_ELSEWHERE.get(label, "")
            ),
        )
        for label in sorted(OPERATIONS)
    ]


def _auth(case: Any, key: str) -> dict[str, str]:
    """Our key, unless this case breaks its headers on purpose (e.g. leaves out Authorization):
    then it goes as generated and must be refused."""
    components = case.meta.components if case.meta is not None else {}
    headers = components.get(ParameterLocation.HEADER)
    if headers is not None and headers.mode.is_negative:
        return {}
    return {"Authorization": f"Bearer {key}"}


def _with_seed(error: BaseException) -> None:
    error.add_note(f"Replay with FIRSTSCAN_FUZZ_SEED={SEED}")


@pytest.mark.parametrize("label", _operation_params())
def test_every_answer_is_documented_and_invalid_input_is_refused(label, live_api):
    base, key = live_api
    operation = OPERATIONS[label]
    strategy = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @given(case=strategy)
    @seed(SEED)
    @settings(
        max_examples=2 * EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def check(case: Any) -> None:
        case.call_and_validate(base_url=base, headers=_auth(case, key), checks=CHECKS)

    try:
        check()
    except BaseException as error:
        _with_seed(error)
        raise


def _following_the_documents_links_never_breaks_the_api(live_api):
    base, key = live_api
    failures: dict[str, str] = {}

    class Journeys(SCHEMA.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": base, "headers": _auth(case, key)}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            # Collected, not raised: the server keeps its state between journeys, so Hypothesis
            # could not replay a failing one (it would report a flaky strategy instead).
            try:
                case.validate_response(response, checks=CHECKS, headers=_auth(case, key))
            except FailureGroup as group:
                for failure in group.exceptions:
                    failures.setdefault(f"{case.operation.label}: {failure.title}", str(group))

    for attempt in range(JOURNEY_RUNS):
        try:
            seed(SEED + attempt)(Journeys).run(
                settings=settings(
                    max_examples=EXAMPLES,
                    deadline=None,
                    suppress_health_check=list(HealthCheck),
                    database=None,
                    phases=[Phase.generate],
                    stateful_step_count=6,
                )
            )
        except Flaky:
            # Hypothesis saw a journey's choices lead elsewhere on a second pass (the server's
            # data changed meanwhile) and stopped; every step that ran was checked. Go on with
            # the next seed, as schemathesis' own runner does.
            continue

    assert not failures, "\n\n".join(
        [*failures.values(), f"Replay with FIRSTSCAN_FUZZ_SEED={SEED}"]
    )


# The stateful journeys belong to `make fuzz` only: collected there, absent (not skipped) in CI,
# whose check counts a skipped PostgreSQL test as a failure.
if DEEP:
    test_following_the_documents_links_never_breaks_the_api = (
        _following_the_documents_links_never_breaks_the_api
    )
