"""A recorder process that dies (os._exit) right after its Nth non-empty database commit and before the
Kafka offset commit: `python -m tests.support.crashing_recorder N`. Settings come from the environment."""

from __future__ import annotations

import os
import sys
import threading

from services.adapters.opening import open_event_store
from services.adapters.settings import Settings
from services.application.recorder import BatchResult
from services.entrypoints.loops.pipeline import build_recorder_loop

CRASH_EXIT_CODE = 137


def main(crash_after: int) -> None:
    settings = Settings()
    commits = 0

    def crash_between_commits(result: BatchResult) -> None:
        nonlocal commits
        commits += result.recorded > 0
        if commits >= crash_after:
            print(f"crashing after database commit {commits}", flush=True)
            os._exit(CRASH_EXIT_CODE)

    loop = build_recorder_loop(settings, open_event_store(settings), after_db_commit=crash_between_commits)
    loop.run(threading.Event())


if __name__ == "__main__":
    main(int(sys.argv[1]))
