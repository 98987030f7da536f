"""JSON report: ``AuditResult.to_dict()`` (schema ``testfleet-audit/1``, documented in docs/audit.md)."""

from __future__ import annotations

import json

from testfleet.audit.model import AuditResult


def render(result: AuditResult) -> str:
    return json.dumps(result.to_dict(), indent=2, sort_keys=False) + "\n"
