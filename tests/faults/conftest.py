"""Helpers for the fault-injection suite."""

from __future__ import annotations

import os

import pytest


def trials(default: int) -> int:
    """How many randomised trials to run: `default` in `make test`, more under `make faults`."""
    return max(1, int(default * float(os.environ.get("REID_FAULT_TRIALS", "1"))))


@pytest.fixture
def fault_trials():
    return trials
