"""Serve the Attention lab to a lecture hall: N Streamlit processes behind nginx, rooms in Redis.

One Streamlit process runs every session's script under one GIL, so one process uses one
core. This starts N of them (default: one per core) on 127.0.0.1 ports and Debian's nginx in
front (``deploy/nginx.conf.template``: websocket upgrade, cookie-sticky routing, failover).
nginx runs in the foreground with a prefix directory of its own (pid file, logs, temp files),
so nothing in /etc is read or changed. Lecture rooms must be shared by every process (a lecturer on
one, students on another), so Debian's redis-server runs beside them (``deploy/redis.conf.template``:
loopback only, its own directory, the append-only file on so a restarted Redis loses no room) and
each process gets ``ATTENTION_LAB_REDIS_URL``. Command line (``deploy/start.sh`` runs this)::

    python -m deploy.serve [--processes N] [--listen 127.0.0.1:8080] [--first-port 8501]
                           [--redis-port 6390 | --no-redis]

It keeps running until Ctrl-C / SIGTERM and restarts a Streamlit process that dies (its
students reconnect to another process meanwhile and get their work back from the address
bar). From Python (the tests and ``benchmarks/hall.py``)::

    hall = start_hall(processes=2, listen_port=free_port())
    hall.url                      # http://127.0.0.1:PORT, through nginx
    hall.websockets_per_backend() # {"127.0.0.1:8501": 51, "127.0.0.1:8502": 49}
    hall.stop()
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = Path(__file__).resolve().with_name("nginx.conf.template")
REDIS_TEMPLATE = Path(__file__).resolve().with_name("redis.conf.template")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nginx_binary() -> str | None:
    """Debian installs nginx in /usr/sbin, which is not on every user's PATH."""
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


def health(url: str, timeout: float = 2.0) -> str:
    """``/_stcore/health`` of ``url`` (no proxy for loopback, whatever the environment says)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{url}/_stcore/health", timeout=timeout) as r:
        return r.read().decode().strip()


def wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline, last = time.monotonic() + timeout, "no answer yet"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} for {url} exited with code {proc.returncode}:\n{tail(log)}")
        try:
            if (last := health(url)) == "ok":
                return
        except OSError as exc:
            last = repr(exc)
        time.sleep(0.2)
    raise RuntimeError(f"{url} not healthy within {timeout:.0f} s ({last}):\n{tail(log)}")


def tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
    """Stop a process started in its own group (and its children): ``sig``, then KILL."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=timeout)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if proc.poll() is None:
        proc.wait(timeout=timeout)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time process ``pid`` has used so far, all its threads (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def redis_binary() -> str | None:
    return shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/local/bin/redis-server") if os.access(p, os.X_OK)), None
    )


@dataclass
class RedisProcess:
    """Debian's redis-server on 127.0.0.1:port, its config, data and log in ``directory``."""

    port: int
    directory: Path
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> None:
        binary = redis_binary()
        if binary is None:
            raise RuntimeError("redis-server not found: apt-get install -y redis-server")
        self.directory.mkdir(parents=True, exist_ok=True)
        conf = self.directory / "redis.conf"
        conf.write_text(
            REDIS_TEMPLATE.read_text().replace("@PORT@", str(self.port)).replace("@DIR@", str(self.directory))
        )
        with open(self.directory / "redis.out", "ab") as out:
            self.proc = subprocess.Popen(
                [binary, str(conf)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"redis-server exited ({self.proc.returncode}):\n{tail(self.directory / 'redis.log')}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.3) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(
            f"redis-server did not answer on port {self.port}:\n{tail(self.directory / 'redis.log')}"
        )

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)


@dataclass
class Backend:
    """One Streamlit process serving the app on 127.0.0.1:port."""

    port: int
    proc: subprocess.Popen
    log: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used so far (Linux /proc)."""
        return cpu_seconds(self.proc.pid)


@dataclass
class Hall:
    """A running deployment: nginx on ``url`` in front of ``backends``."""

    url: str
    prefix: Path
    backends: list[Backend]
    nginx: subprocess.Popen
    script: Path
    env: dict[str, str] = field(repr=False, default_factory=dict)
    redis: RedisProcess | None = None

    def backend_serving(self, address: str) -> Backend:
        return next(b for b in self.backends if b.address == address)

    def websockets_per_backend(self) -> Counter[str]:
        """Websocket sessions per backend address, from nginx's access log.

        nginx logs a websocket when it closes; with a failover the upstream field lists every
        process tried ("A, B"), and the last one served it.
        """
        counts: Counter[str] = Counter({b.address: 0 for b in self.backends})
        for line in tail(self.prefix / "access.log", 10**9).splitlines():
            m = re.search(r'"GET /_stcore/stream[^"]*" 101 ((?:\S+, )*\S+) ', line)
            if m:
                counts[m.group(1).split(", ")[-1]] += 1
        return counts

    def served_by(self, route: str) -> str | None:
        """The backend that served the last logged request of the browser whose cookie is ``route``."""
        last = None
        for line in tail(self.prefix / "access.log", 10**9).splitlines():
            if line.endswith(f" route={route}"):
                last = re.search(r'" \d{3} ((?:\S+, )*\S+) ', line)
        return last.group(1).split(", ")[-1] if last else None

    def route_to(self, backend: Backend, tries: int = 64) -> str:
        """A routing-cookie value that nginx sends to ``backend`` (found by asking: GET health with it)."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        for k in range(tries):
            route = secrets.token_hex(16)
            req = urllib.request.Request(
                f"{self.url}/_stcore/health", headers={"Cookie": f"attn_route={route}"}
            )
            opener.open(req, timeout=5).read()
            if self.served_by(route) == backend.address:
                return route
        raise RuntimeError(f"no route to {backend.address} in {tries} tries")

    def restart(self, backend: Backend, timeout: float = 60.0) -> None:
        """Start a dead backend again on its port."""
        fresh = start_backend(self.script, backend.port, self.prefix, self.env)
        wait_healthy(fresh.url, fresh.proc, fresh.log, timeout)
        backend.proc = fresh.proc

    def stop(self) -> None:
        stop_process(self.nginx)  # fast shutdown: a graceful one would wait for every open websocket
        for b in self.backends:
            stop_process(b.proc)
        if self.redis is not None:
            self.redis.stop()


def start_backend(
    script: Path, port: int, prefix: Path, env: dict[str, str] | None = None, args: tuple[str, ...] = ()
) -> Backend:
    """One Streamlit process serving ``script`` on 127.0.0.1:``port``, its log in ``prefix``
    (not yet healthy); ``args``: more ``streamlit run`` options (they override the project's
    ``.streamlit/config.toml``)."""
    log = prefix / f"streamlit-{port}.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(script),
                "--server.headless",
                "true",
                "--server.address",
                "127.0.0.1",
                "--server.port",
                str(port),
                "--server.fileWatcherType",
                "none",
                "--browser.gatherUsageStats",
                "false",
                *args,
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env or {**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    return Backend(port, proc, log)


def nginx_config(prefix: Path, listen: str, ports: list[int]) -> str:
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;" for p in ports)
    return (
        TEMPLATE.read_text()
        .replace("@PREFIX@", str(prefix))
        .replace("@LISTEN@", listen)
        .replace("@SERVERS@", servers)
    )


def start_hall(
    processes: int | None = None,
    *,
    listen: str | None = None,
    backend_ports: list[int] | None = None,
    script: Path = ROOT / "app.py",
    prefix: Path | None = None,
    timeout: float = 90.0,
    redis_port: int | None = None,
    redis: bool = True,
) -> Hall:
    """Start redis-server, ``processes`` Streamlit processes (default: one per core) and nginx in front;
    wait until healthy.

    ``listen``: nginx's ``address:port`` (default 127.0.0.1 on a free port); ``backend_ports``:
    the processes' ports (default: free ports); ``prefix``: nginx's directory (default: a new
    temporary one); ``redis``: rooms in a redis-server on ``redis_port`` (default: a free port), its
    files in ``prefix/redis`` (False: each process keeps its own rooms, as one ``streamlit run`` does).
    Raises ``RuntimeError`` (after stopping what it started) if something does not come up, with the
    tail of its log.
    """
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx not found: apt-get install -y nginx")
    n = processes or os.cpu_count() or 1
    ports = backend_ports or [free_port() for _ in range(n)]
    listen = listen or f"127.0.0.1:{free_port()}"
    prefix = Path(prefix or tempfile.mkdtemp(prefix="attention-hall-"))
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    # Run as root, nginx's workers switch to an unprivileged user that must reach the temp dirs.
    prefix.chmod(0o755)
    (prefix / "tmp").chmod(0o755)
    (prefix / "nginx.conf").write_text(nginx_config(prefix, listen, ports))
    # One cookie secret for all processes, so that signed cookies made by one are valid in another.
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "STREAMLIT_SERVER_COOKIE_SECRET": os.environ.get("STREAMLIT_SERVER_COOKIE_SECRET")
        or secrets.token_hex(32),
    }
    backends: list[Backend] = []
    nginx: subprocess.Popen | None = None
    store = RedisProcess(redis_port or free_port(), prefix / "redis") if redis else None
    try:
        if store is not None:
            store.start()
            env["ATTENTION_LAB_REDIS_URL"] = store.url
        backends = [start_backend(script, p, prefix, env) for p in ports]
        for b in backends:
            wait_healthy(b.url, b.proc, b.log, timeout)
        test = subprocess.run(
            [
                binary,
                "-t",
                "-q",
                "-p",
                str(prefix),
                "-c",
                str(prefix / "nginx.conf"),
                "-e",
                str(prefix / "error.log"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if test.returncode:
            raise RuntimeError(f"nginx refused the configuration:\n{test.stderr}")
        with open(prefix / "nginx.out", "ab") as out:
            nginx = subprocess.Popen(
                [
                    binary,
                    "-p",
                    str(prefix),
                    "-c",
                    str(prefix / "nginx.conf"),
                    "-e",
                    str(prefix / "error.log"),
                    "-g",
                    "daemon off;",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        hall = Hall(f"http://{listen}", prefix, backends, nginx, Path(script), env, store)
        wait_healthy(hall.url, nginx, prefix / "error.log", timeout)
        return hall
    except BaseException:
        if nginx is not None:
            stop_process(nginx)
        for b in backends:
            stop_process(b.proc)
        if store is not None:
            store.stop()
        raise


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--processes", type=int, default=os.cpu_count() or 1, help="Streamlit processes (default: cores)"
    )
    ap.add_argument(
        "--listen", default="127.0.0.1:8080", help="nginx's address:port (default 127.0.0.1:8080)"
    )
    ap.add_argument(
        "--first-port", type=int, default=8501, help="the processes take this port and the next ones"
    )
    ap.add_argument("--prefix", type=Path, help="nginx's directory: logs, pid (default: a new temporary one)")
    ap.add_argument(
        "--redis-port", type=int, default=6390, help="redis-server's port on 127.0.0.1 (default 6390)"
    )
    ap.add_argument("--no-redis", action="store_true", help="no Redis: each process keeps its own rooms")
    args = ap.parse_args(argv)
    ports = list(range(args.first_port, args.first_port + args.processes))
    hall = start_hall(
        args.processes,
        listen=args.listen,
        backend_ports=ports,
        prefix=args.prefix,
        redis_port=args.redis_port,
        redis=not args.no_redis,
    )
    print(
        f"Attention lab on {hall.url} (nginx), {len(ports)} Streamlit processes on ports "
        f"{ports[0]}-{ports[-1]}"
        + (f", rooms in Redis on {hall.redis.url}" if hall.redis else "")
        + f"; logs in {hall.prefix}. Ctrl-C stops everything.",
        flush=True,
    )
    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        while not stopping:
            if hall.nginx.poll() is not None:
                print(
                    f"nginx exited ({hall.nginx.returncode}):\n{tail(hall.prefix / 'error.log')}",
                    file=sys.stderr,
                )
                return 1
            for b in hall.backends:
                if b.proc.poll() is not None and not stopping:
                    print(f"process on port {b.port} exited ({b.proc.returncode}); restarting it", flush=True)
                    try:
                        hall.restart(b)
                    except RuntimeError as exc:
                        print(exc, file=sys.stderr)
            time.sleep(1)
        return 0
    finally:
        hall.stop()


if __name__ == "__main__":
    sys.exit(main())
