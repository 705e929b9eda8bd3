"""A real redis-server (Debian's package) on a free loopback port, for the tests: the deployment's own
:class:`deploy.serve.RedisProcess` (its configuration, append-only file on) in a temporary directory."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from deploy.serve import RedisProcess, free_port


class RedisServer(RedisProcess):
    """Started at once; ``stop()`` and ``start()`` again keep its data (the append-only file)."""

    def __init__(self) -> None:
        super().__init__(free_port(), Path(tempfile.mkdtemp(prefix="attention-redis-")))
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
