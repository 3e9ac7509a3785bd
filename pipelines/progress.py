"""A Dagster logger that turns step events into a rich progress bar on the terminal."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from dagster import logger
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

__all__ = ["StepProgress", "progress_logger_def"]


class StepProgress(logging.Handler):
    """Counts finished steps; prints each with its seconds; remembers failures for the summary."""

    def __init__(self, total_steps: int, console: Console | None = None, enabled: bool = True) -> None:
        super().__init__(level=logging.DEBUG)
        # piped stderr: no wrapping at 80 columns, so a failing file's path stays on one line
        self.console = console or Console(stderr=True, soft_wrap=not sys.stderr.isatty(), highlight=False)
        self.enabled = enabled
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            # two redraws a second show the elapsed time well enough; the default ten take CPU
            # (and the GIL) from the steps themselves
            console=self.console, transient=True, disable=not enabled, refresh_per_second=2,
        )
        self.task = self.progress.add_task("supplycast run", total=total_steps)
        self.started: dict[str, float] = {}
        self.step_seconds: dict[str, float] = {}
        self.failures: list[str] = []
        self.check_failures: list[str] = []

    def __enter__(self) -> StepProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.stop()

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is None:
            return
        step = event.step_key or ""
        kind = event.event_type_value
        if kind == "STEP_START":
            self.started[step] = time.perf_counter()
            self.progress.update(self.task, description=f"running {step}")
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"):
            seconds = time.perf_counter() - self.started.get(step, time.perf_counter())
            self.step_seconds[step] = seconds
            self.progress.advance(self.task)
            mark = {"STEP_SUCCESS": "[green]ok", "STEP_FAILURE": "[red]FAILED", "STEP_SKIPPED": "[yellow]skipped"}[kind]
            if self.enabled:
                self.console.print(f"  {mark}[/] {step} ({seconds:.1f} s)")
            if kind == "STEP_FAILURE":
                error = event.step_failure_data.error if event.step_failure_data else None
                # the step error wraps the user's exception; its cause carries the useful message
                while error is not None and error.cause is not None:
                    error = error.cause
                self.failures.append(f"asset {step}: {error.message.strip() if error else 'failed'}")
        elif kind == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            if data is not None and not data.passed:
                desc = data.description or "failed"
                self.check_failures.append(f"check {data.asset_check_key.name} on {data.asset_key.to_user_string()}: {desc}")


def progress_logger_def(handler: StepProgress):
    @logger(description="Progress bar for supplycast run")
    def _progress(_init_context) -> logging.Logger:
        log = logging.getLogger("supplycast.progress")
        log.handlers = [handler]
        log.setLevel(logging.DEBUG)
        log.propagate = False
        return log

    return _progress
