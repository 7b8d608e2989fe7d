"""PostgreSQL and Redis for the deployed stack: those of the test run (``DATABASE_URL``, ``REDIS_URL``)
when set, else the ones on localhost; the stack gets a database of its own and Redis databases no
other test uses. Skipped, saying why, only when they do not answer."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.deploy.stack import NGINX, REDIS_SERVER, OwnRedis, Stack, manage, redis_database

LOCAL_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS = "redis://127.0.0.1:6379/0"
# One database per test run, so that two runs on one server never drop each other's.
DATABASE = f"reactionsite_scaleout_{os.getpid()}"
# Redis databases of the scale-out stack (channel layer, cache, RQ): the worker recovery test has 15.
SCALE_OUT_REDIS_DB = 13


def _postgres_server() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else LOCAL_POSTGRES


def _admin_url(server: str) -> str:
    return urlsplit(server)._replace(path="/postgres").geturl()


def database_url(server: str, name: str) -> str:
    return urlsplit(server)._replace(path=f"/{name}").geturl()


def postgres_admin(server: str):  # type: ignore[no-untyped-def]
    """An autocommit connection to the server's maintenance database."""
    import psycopg

    return psycopg.connect(_admin_url(server), autocommit=True, connect_timeout=5)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    import psycopg

    server = _postgres_server()
    try:
        postgres_admin(server).close()
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL does not answer at {_admin_url(server)} ({error}); the deployed stack needs it")
    return server


@pytest.fixture(scope="session")
def machine_redis() -> str:
    import redis

    url = os.environ.get("REDIS_URL") or LOCAL_REDIS
    try:
        redis.Redis.from_url(url, socket_connect_timeout=5).ping()
    except redis.RedisError as error:
        pytest.skip(f"Redis does not answer at {url} ({error}); the deployed stack needs it")
    return url


@pytest.fixture(scope="session")
def deploy_tools() -> None:
    if not NGINX.exists():
        pytest.skip(f"Debian's nginx is not at {NGINX} (make test installs it)")
    if not shutil.which("openssl"):
        pytest.skip("openssl is missing: it makes the test's TLS certificate")


@pytest.fixture(scope="session")
def stack_database(postgres_server, tmp_path_factory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A fresh, migrated database for the stacks of this session, dropped at its end."""
    from psycopg import sql

    with postgres_admin(postgres_server) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DATABASE)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    url = database_url(postgres_server, DATABASE)
    inherited = {key: value for key, value in os.environ.items() if key not in ("DJANGO_SETTINGS_MODULE", "REDIS_URL")}
    env = {**inherited, "SECRET_KEY": "migrate", "DEBUG": "0", "DATABASE_URL": url,
           "DATA_DIR": str(tmp_path_factory.mktemp("migrate"))}  # fmt: skip
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    yield url
    with postgres_admin(postgres_server) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DATABASE)))


@pytest.fixture(scope="module")
def scale_out(deploy_tools, stack_database, machine_redis, tmp_path_factory) -> Iterator[Stack]:  # type: ignore[no-untyped-def]
    """nginx, two Daphne processes and a media worker on the machine's PostgreSQL and Redis."""
    import redis

    url = redis_database(machine_redis, SCALE_OUT_REDIS_DB)
    redis.Redis.from_url(url).flushdb()
    stack = Stack(tmp_path_factory.mktemp("scale-out"), database_url=stack_database, redis_url=url)
    try:
        stack.start(worker=True)
        yield stack
    finally:
        stack.stop()
        redis.Redis.from_url(url).flushdb()


@pytest.fixture(scope="module")
def own_redis(deploy_tools, tmp_path_factory) -> Iterator[OwnRedis]:  # type: ignore[no-untyped-def]
    if not REDIS_SERVER.exists():
        pytest.skip(f"redis-server is not at {REDIS_SERVER}: the fault tests restart a Redis of their own")
    server = OwnRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def faults(stack_database, own_redis, tmp_path_factory) -> Iterator[Stack]:  # type: ignore[no-untyped-def]
    """nginx and two Daphne processes on PostgreSQL and a Redis the tests may restart."""
    stack = Stack(tmp_path_factory.mktemp("faults"), database_url=stack_database, redis_url=own_redis.url)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


# The browser tests' Chromium with a fake camera showing real faces (tests/e2e/conftest.py).
from tests.e2e.conftest import browser, chromium, fake_camera_video  # noqa: E402, F401
