"""Runs the mock carrier server: python -m mock_carriers --port 8765 [--latency-ms 100]."""

from __future__ import annotations

import argparse
from datetime import timedelta

import uvicorn

from mock_carriers.faults import FaultConfig
from mock_carriers.server import MockCarrierServer


def build_parser() -> argparse.ArgumentParser:
    """Returns the command line: address, faults and how label times are chosen."""
    parser = argparse.ArgumentParser(prog="python -m mock_carriers", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency-ms", type=float, nargs="+", metavar="MS", default=[0.0],
                        help="fixed latency, or LOW HIGH for a uniform range")  # fmt: skip
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--malformed-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--label-times",
        choices=("derived", "first_seen"),
        default="derived",
        help="derived: fixed per number; first_seen: the first request, minus a spread",
    )
    parser.add_argument("--label-age-spread-hours", type=float, default=0.0)
    parser.add_argument(
        "--push-every",
        type=float,
        default=None,
        metavar="SECONDS",
        help="push subscribed and targeted numbers' new scans this often (mock_carriers.pushing)",
    )
    return parser


def build_server(args: argparse.Namespace) -> MockCarrierServer:
    """Returns the server the parsed arguments describe."""
    low, high = (args.latency_ms * 2)[:2] if len(args.latency_ms) == 1 else args.latency_ms[:2]
    faults = FaultConfig(
        latency_ms=(low, high), error_rate=args.error_rate, malformed_rate=args.malformed_rate
    )
    return MockCarrierServer(
        faults=faults,
        seed=args.seed,
        label_times=args.label_times,
        label_age_spread=timedelta(hours=args.label_age_spread_hours),
        push_every=args.push_every,
    )


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    uvicorn.run(
        build_server(args), host=args.host, port=args.port, lifespan="on", log_level="warning"
    )


if __name__ == "__main__":
    main()
