"""testfleet: run pytest suites across a fleet of workers and tell the truth about them.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

from testfleet.model import Outcome, RunInfo, TestResult, WorkerInfo

__version__ = "0.1.0"

__all__ = ["Outcome", "RunInfo", "TestResult", "WorkerInfo", "__version__"]
