"""The one retry layer of a sync run: backoff that honours Retry-After, a budget per run, no blind resend.

Every tracker call of the engine goes through `Retrier.call`; the adapters turn their SDK's own
retries off (jira `max_retries=0`, PyGithub `retry=None`), so a call is retried in exactly one place
and a test can count the tries at the server. A write that may have been applied (timeout, dropped
connection, 5xx) is never sent again blindly: the caller's `settled` hook looks for it first (the
issue by its stamp, the comment by its stamp) and its answer ends the call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from backlog_bridge.sync.tracker import TrackerUnavailableError

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one run tries before leaving a theme pending for the next run."""

    attempts: int = 3
    """Tries per call, the first included."""
    base_delay: float = 2.0
    """Backoff before the second try; doubles each time (Retry-After wins when the tracker sends it)."""
    max_delay: float = 60.0
    """A longer Retry-After is not waited for: the theme is left pending for the next run."""
    run_budget: float = 90.0
    """Seconds of backoff one run waits in all, over every theme (not per theme)."""

    def delay(self, error: TrackerUnavailableError, failed: int) -> float:
        """Seconds to wait after the `failed`-th failed try of a call (Retry-After when the tracker sent one)."""
        return error.retry_after if error.retry_after is not None else self.base_delay * 2 ** (failed - 1)


@dataclass
class Retrier:
    """Retries transient tracker failures for one run, all calls drawing on one backoff budget."""

    policy: RetryPolicy
    sleep: Callable[[float], None] = time.sleep
    waited: float = 0.0
    """Seconds of backoff spent so far in this run."""

    def call(self, attempt: Callable[[], T], settled: Callable[[], T | None] | None = None) -> T:
        """`attempt()`, tried again after each transient failure while tries and budget last.

        Args:
            attempt: one try of the call (an adapter method).
            settled: for a write that is not idempotent: after a failure that may have been applied,
                and before sending it again, look for its effect; a result other than None is taken as
                the call's answer and nothing is resent.

        Raises:
            TrackerUnavailableError: the last failure, once out of tries, out of budget, or asked to
                wait longer than `RetryPolicy.max_delay`.
        """
        failed = 0
        while True:
            try:
                return attempt()
            except TrackerUnavailableError as error:
                failed += 1
                if not self._wait(error, failed):
                    raise
                if settled is not None and error.maybe_applied:
                    found = settled()
                    if found is not None:
                        return found

    def _wait(self, error: TrackerUnavailableError, failed: int) -> bool:
        """Back off before the next try; False when out of tries, or the wait is too long for the run."""
        if failed >= self.policy.attempts:
            return False
        delay = self.policy.delay(error, failed)
        if delay > self.policy.max_delay or self.waited + delay > self.policy.run_budget:
            return False
        log.info("sync.retry", extra={"delay_s": delay, "error": str(error)})
        self.sleep(delay)
        self.waited += delay
        return True
