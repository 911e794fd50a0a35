from __future__ import annotations

import signal
import subprocess
import sys
import time
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from careline.core import startup
from careline.core.demo import load_demo
from careline.core.management.base import CareLineCommand

STOP_GRACE_S = 20


class Command(CareLineCommand):
    help = "Run the web server and the engine together on this machine (Ctrl-C stops both)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--demo", action="store_true", help="load the demo hospital first")

    def handle(self, *args: Any, **options: Any) -> None:
        startup.migrate()
        if options["demo"]:
            load_demo(self.stdout)
        stopping = False

        def stop(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        # Two processes, not threads: the web server starts its workers, the engine owns its
        # event loop.
        base = [sys.executable, "-m", "careline.cli"]
        children = {
            name: subprocess.Popen([*base, name, "--no-migrate"])  # noqa: S603  (our own interpreter)
            for name in ("serve", "engine")
        }
        exit_code = 0
        while not stopping:
            dead = {name: child for name, child in children.items() if child.poll() is not None}
            if dead:
                name, child = next(iter(dead.items()))
                exit_code = child.returncode or 1
                self.stderr.write(
                    f"careline: {name} exited with {child.returncode}; stopping the rest"
                )
                break
            time.sleep(0.2)
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for child in children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if exit_code:
            raise SystemExit(exit_code)
