"""Printing findings for people (and cron)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from app.reconciliation.service import OrderVerdict


def print_findings(
    verdicts: Sequence[object], *, as_json: bool, echo: Callable[[str], object]
) -> None:
    found = 0
    for verdict in verdicts:
        assert isinstance(verdict, OrderVerdict)
        for finding in verdict.findings:
            found += 1
            if as_json:
                echo(
                    json.dumps(
                        {
                            "order_number": verdict.order_number,
                            "rule": finding.rule,
                            "severity": finding.severity.value,
                            "carrier": finding.carrier,
                            "tracking_number": finding.tracking_number,
                            "explanation": finding.explanation,
                            "recommended_action": finding.recommended_action,
                        }
                    )
                )
            else:
                echo(
                    f"{finding.severity.value.upper():8} {finding.rule:20} "
                    f"{verdict.order_number:14} {finding.carrier or '-':6} "
                    f"{finding.tracking_number or '-'}\n         {finding.explanation}\n"
                    f"         next step: {finding.recommended_action}"
                )
    if not as_json:
        echo(f"{len(verdicts)} active orders judged, {found} findings")
