"""The fixed set of threads that do live capture's database work in each process.

Channels' ``database_sync_to_async`` runs a consumer's queries in the consumer's own context, and
Django keeps a database connection per context: every connected socket held a connection of its
own, and 200 viewers on two processes exceeded PostgreSQL's 100. Here the work runs in the
threads' own contexts instead, so each of the ``CAPTURE_DATABASE_THREADS`` threads keeps one
connection, reused from call to call, and a process holds no more than that many for capture
however many viewers are connected.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.db import close_old_connections

Parameters = ParamSpec("Parameters")
Result = TypeVar("Result")

_threads: ThreadPoolExecutor | None = None
_threads_lock = threading.Lock()


def database_threads() -> ThreadPoolExecutor:
    """The process's capture database threads, started on first use."""
    global _threads
    with _threads_lock:
        if _threads is None:
            _threads = ThreadPoolExecutor(
                max_workers=settings.CAPTURE_DATABASE_THREADS, thread_name_prefix="capture-database"
            )
        return _threads


async def in_database_thread(
    function: Callable[Parameters, Result], /, *args: Parameters.args, **kwargs: Parameters.kwargs
) -> Result:
    """Run ``function`` (ORM work) in one of the capture database threads without blocking the loop."""
    call = functools.partial(_with_usable_connection, function, *args, **kwargs)
    # run_in_executor does not carry the caller's context over: the thread's own connection is used.
    # Shielded, as asgiref's helpers are: a caller cancelled meanwhile (a socket torn down) leaves the
    # call to finish in its thread instead of cancelling the future under it.
    return await asyncio.shield(asyncio.get_running_loop().run_in_executor(database_threads(), call))


def _with_usable_connection(function: Callable[..., Result], *args: object, **kwargs: object) -> Result:
    # As Channels' helper does: a connection that broke or outlived DB_CONN_MAX_AGE is replaced.
    close_old_connections()
    try:
        return function(*args, **kwargs)
    finally:
        close_old_connections()
