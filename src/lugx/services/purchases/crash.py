"""The crash tests' hook: die by SIGKILL at a named step of the saga. Inert unless the setting
`purchases_crash_point` names the step (tests set it in a child process they then restart)."""

from __future__ import annotations

import os
import signal

from lugx.platform.settings import Settings

POINTS = ("placed", "priced", "charged", "settling", "settled", "refunding")


def crash_point(settings: Settings, point: str) -> None:
    if settings.purchases_crash_point == point:
        os.kill(os.getpid(), signal.SIGKILL)
