"""A throwaway PostgreSQL server for the test suite: initdb in a temp dir, loopback port."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path(os.environ.get("CRITIQUELAB_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _reachable_tmp() -> str:
    """The temp directory, if the postgres user can reach it; else /tmp. Run as root (as CI
    is), the server runs as postgres, and a private TMPDIR (mktemp -d is mode 700) would
    hide its data directory from it."""
    base = Path(tempfile.gettempdir()).resolve()
    if os.geteuid() != 0:
        return str(base)
    for folder in (base, *base.parents):
        if not folder.stat().st_mode & 0o001:  # others may not traverse it
            return "/tmp"
    return str(base)


def _as_postgres(cmd: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; CI and these machines run the suite as root.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@dataclass
class PostgresServer:
    datadir: Path
    port: int

    @property
    def base_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"

    def url(self, dbname: str) -> str:
        return f"{self.base_url}/{dbname}"

    @classmethod
    def start(cls, durable: bool = False) -> "PostgresServer":
        """durable=False (the tests) turns off fsync and synchronous commit for speed;
        benchmarks ask for PostgreSQL's default durability, as production runs it."""
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(
                f"PostgreSQL binaries not found in {PG_BIN} (set CRITIQUELAB_PG_BIN)"
            )
        root = Path(tempfile.mkdtemp(prefix="critiquelab-pg-", dir=_reachable_tmp()))
        datadir = root / "data"
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        subprocess.run(
            _as_postgres(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(datadir),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
        )
        port = _free_port()
        # TCP only (no Unix socket): a socket path under a long temp directory would pass the
        # 107-byte limit of socket paths, and the tests connect over loopback anyway.
        opts = f"-p {port} -c unix_socket_directories='' -c listen_addresses=127.0.0.1 -c max_connections=300"
        if not durable:
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        subprocess.run(
            _as_postgres(
                [
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(datadir),
                    "-o",
                    opts,
                    "-l",
                    str(root / "log"),
                    "-w",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )
        server = cls(datadir=datadir, port=port)
        server._wait()
        return server

    def _wait(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError("PostgreSQL did not start")

    def stop(self) -> None:
        subprocess.run(
            _as_postgres(
                [str(PG_BIN / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop"]
            ),
            capture_output=True,
        )
        shutil.rmtree(self.datadir.parent, ignore_errors=True)
