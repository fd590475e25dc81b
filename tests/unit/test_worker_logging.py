"""The worker's framework logging stays at the configured level (Faust's spinner would lower it to DEBUG)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.app.settings import Settings
from orchestrator.app.worker import create_app, framework_worker

RULESETS = Path(__file__).resolve().parents[2] / "rulesets"


@pytest.fixture
def root_logger_restored() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    root.setLevel(level)
    root.handlers[:] = handlers


@pytest.mark.usefixtures("root_logger_restored")
def test_aiokafka_debug_records_are_not_built_at_the_default_framework_level() -> None:
    settings = Settings(rulesets=RULESETS)
    worker = framework_worker(create_app(settings), settings)
    worker._setup_logging()  # what the worker does first when it starts
    assert logging.getLogger().level == logging.WARNING
    assert not logging.getLogger("aiokafka.conn").isEnabledFor(logging.DEBUG)
