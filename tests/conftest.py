"""Shared fixtures. PRESSROOM_* variables are cleared at import so a developer's shell never leaks in."""

from __future__ import annotations

import asyncio
import io
import os
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.testing import free_port

for _name in list(os.environ):
    if _name.startswith("PRESSROOM_"):
        del os.environ[_name]

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus" / "fastapi-docs"
SAMPLES = REPO / "content-samples"

GZ = {"Content-Type": "application/gzip"}


async def wait_finished(client: Any, job_id: str, timeout: float = 120) -> dict[str, Any]:
    """Poll an ``aiohttp_client`` app until the job ends; its status document."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = await (await client.get(f"/api/builds/{job_id}/status")).json()
        if st["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
            return st  # type: ignore[no-any-return]
        await asyncio.sleep(0.1)
    raise AssertionError(f"{job_id} did not finish")


def make_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write ``{relative path: content}`` under ``root`` (MkDocs' ``tempdir`` helper, for pytest)."""
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")
    return root


def tar_gz(files: dict[str, str | bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def tree(tmp_path: Path) -> Callable[[dict[str, str | bytes]], Path]:
    def make(files: dict[str, str | bytes], sub: str = "src") -> Path:
        return make_tree(tmp_path / sub, files)

    return make


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Any]:
    """A Config rooted in tmp_path with a SQLite store there; keyword args override sections."""
    from pipeline import config as config_mod

    def make(**sections: Any) -> config_mod.Config:
        data: dict[str, Any] = {
            "data_dir": str(tmp_path / "data"),
            "store": {"url": f"sqlite:///{tmp_path / 'data' / 'pressroom.db'}"},
            "server": {"auth": "none", "port": 0},
            "workers": {"count": 4, "processes": 0, "lease_seconds": 5, "heartbeat_seconds": 1, "poll_interval": 0.2,
                        "backoff_base": 0.05, "backoff_max": 0.2},
            "pipeline": {"build": ["noop"]},
        }
        for key, value in sections.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        return config_mod.parse(data, path=str(tmp_path / "config.toml"), root=tmp_path)

    return make


PG_BIN = Path("/usr/lib/postgresql/15/bin")


class PgServer:
    """A throwaway PostgreSQL 15 cluster on loopback, run as user ``postgres`` in a temp dir."""

    def __init__(self, root: Path) -> None:
        import shutil
        import subprocess

        if not (PG_BIN / "initdb").exists():
            raise RuntimeError("PostgreSQL 15 binaries are missing: `make test` installs postgresql-15 with apt-get")
        self.root = root
        self.port = free_port()
        self.data = root / "data"
        root.mkdir(parents=True, exist_ok=True)
        shutil.chown(root, "postgres")
        self._as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*self._as_pg, str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                        "-E", "UTF8", "--locale=C.UTF-8"], check=True, capture_output=True)
        (root / "sock").mkdir()
        shutil.chown(root / "sock", "postgres")
        self.start()
        self._n = 0

    def start(self) -> None:
        """Start the server (again, after :meth:`stop`: tests cut daemons off from their store)."""
        import subprocess

        subprocess.run([*self._as_pg, str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
                        "-w", "-o", f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root / 'sock'} -c fsync=off "
                                    "-c synchronous_commit=off -c max_connections=200", "start"],
                       check=True, capture_output=True)

    def url(self, db: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def new_database(self) -> str:
        import subprocess

        self._n += 1
        name = f"t{os.getpid()}_{self._n}"
        subprocess.run([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name],
                       check=True, capture_output=True)
        return self.url(name)

    def stop(self) -> None:
        import subprocess

        subprocess.run([*self._as_pg, str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"],
                       capture_output=True)


def pg_in_tempdir(prefix: str) -> Iterator[PgServer]:
    """A PostgreSQL server of its own, outside pytest's 0700 temp root so ``postgres`` can reach it."""
    import shutil
    import tempfile

    root = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(root, 0o755)
    server = PgServer(root / "cluster")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Any:
    """Session-wide; lives outside pytest's 0700 temp root so the ``postgres`` user can reach it."""
    yield from pg_in_tempdir("pressroom-pg-")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store URL, once on SQLite and once on PostgreSQL (the store suites run on both)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("pg_server").new_database()  # type: ignore[no-any-return]
