from datetime import timedelta

import pytest

from mock_carriers.__main__ import build_parser, build_server


async def test_unknown_paths_are_404(client):
    response = await client.get("/ontrac/track")
    assert response.status_code == 404


async def test_known_paths_with_the_wrong_method_are_405(client):
    response = await client.get("/fedex/track/v1/trackingnumbers")
    assert response.status_code == 405


async def test_unknown_control_paths_are_404(client):
    assert (await client.get("/_mock/nothing")).status_code == 404


async def test_lifespan_startup_and_shutdown_are_acknowledged(server):
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent = []

    async def receive():
        return incoming.pop(0)

    async def send(message):
        sent.append(message["type"])

    await server({"type": "lifespan"}, receive, send)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


@pytest.mark.parametrize(
    ("argv", "latency"),
    [([], [0.0, 0.0]), (["--latency-ms", "100"], [100.0, 100.0]),
     (["--latency-ms", "50", "150"], [50.0, 150.0])],
)  # fmt: skip
def test_runner_turns_latency_flags_into_fault_settings(argv, latency):
    server = build_server(build_parser().parse_args(argv))
    assert list(server.faults.config.latency_ms) == latency


def test_runner_passes_label_time_policy_through():
    args = build_parser().parse_args(
        ["--label-times", "first_seen", "--label-age-spread-hours", "48", "--seed", "9"]
    )
    server = build_server(args)
    assert server.label_policy == ("first_seen", timedelta(hours=48))
