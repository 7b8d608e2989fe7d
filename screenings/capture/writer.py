"""Live capture's samples stored in small batches: the frames read together share one transaction.

Each process has one writer per event loop. A frame read waits for its sample to be stored and
is acknowledged only after the transaction that stored it committed (an ``ack`` means the sample
is stored). While one batch is being written the next frames gather, so under load a
transaction stores many samples (one lock query, one insert, one update per participant and
per slot) and when it is quiet each frame is stored at once, alone. The writes run in the
capture database threads (``screenings.capture.database``).
"""

from __future__ import annotations

import asyncio
import weakref

from screenings import services
from screenings.capture.database import in_database_thread
from screenings.models import EmotionSample

# The most samples one transaction stores; the frames past it wait for the next one.
MAX_BATCH = 100

Stored = tuple[EmotionSample, bool] | None


class SampleWriter:
    """Stores the readings handed to it, in batches, one transaction at a time."""

    def __init__(self) -> None:
        self._waiting: list[tuple[services.CapturedReading, asyncio.Future[Stored]]] = []
        self._writing: asyncio.Task[None] | None = None

    async def store(self, reading: services.CapturedReading) -> Stored:
        """Store the reading with the others waiting; its sample and whether it was new, None as in the service."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Stored] = loop.create_future()
        self._waiting.append((reading, future))
        if self._writing is None or self._writing.done():
            self._writing = loop.create_task(self._write())
        return await future

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            try:
                results = await in_database_thread(
                    services.captured_samples_record, readings=[reading for reading, _ in batch]
                )
            except Exception as error:  # every frame of the batch must hear that nothing was stored
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)


_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SampleWriter] = weakref.WeakKeyDictionary()


def sample_writer() -> SampleWriter:
    """The running event loop's writer."""
    loop = asyncio.get_running_loop()
    writer = _writers.get(loop)
    if writer is None:
        writer = _writers.setdefault(loop, SampleWriter())
    return writer
