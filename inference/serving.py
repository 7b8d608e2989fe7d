"""Asynchronous serving: decode and detect in a worker pool, classify faces from many callers in one batch.

Used by the websocket capture; it knows nothing about sockets or the database. Every
coroutine here runs its CPU work in threads, so the event loop is never blocked.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from inference.faces import Box, FaceMode, detect_face_near
from inference.images import decode_grey
from inference.predictor import EmotionPredictor, FaceResult, get_predictor, locate_faces
from inference.preprocessing import crop_face


def _worker_count() -> int:
    raw = os.environ.get("FRAME_WORKERS", "").strip()
    if not raw:
        return os.cpu_count() or 2
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"FRAME_WORKERS must be a whole number of threads, 1 or more, got {raw!r}")
    return int(raw)


# OpenCV and Pillow release the GIL while decoding and detecting, so threads use every core.
_frame_pool = ThreadPoolExecutor(max_workers=_worker_count(), thread_name_prefix="frames")


@dataclass(frozen=True)
class LocatedFace:
    box: Box
    crop: np.ndarray


def locate_largest_face(image: bytes, *, max_side: int, previous: Box | None = None) -> LocatedFace | None:
    """Decode (raises ``InvalidImage``) and find the participant's face: the largest one, or None.

    With ``previous`` (the face's box in this participant's last frame) the search starts around it.
    """
    grey = decode_grey(image, max_side=max_side, max_pixels=max_side * max_side)
    if previous is not None:
        near = detect_face_near(grey, previous)
        if near is not None:
            return LocatedFace(near, crop_face(grey, near))
    located = locate_faces(grey, mode=FaceMode.LARGEST)
    if not located:
        return None
    box, crop = located[0]
    return LocatedFace(box, crop)


class FaceBatcher:
    """Collects face crops from concurrent callers and classifies them in one network call.

    A caller waits at most ``max_wait`` seconds for others to join its batch; under load
    batches fill up to ``max_batch`` and the network's per-call cost is shared.
    """

    def __init__(self, predictor: EmotionPredictor, *, max_batch: int = 64, max_wait: float = 0.004) -> None:
        self.predictor = predictor
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._queue: asyncio.Queue[tuple[np.ndarray, asyncio.Future[np.ndarray]]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        # One thread for the network: TensorFlow already uses every core inside one call.
        self._network_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="network")

    async def classify(self, crop: np.ndarray) -> np.ndarray:
        """The seven probabilities for one 48x48x1 crop."""
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._run())
        future: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        await self._queue.put((crop, future))
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            deadline = loop.time() + self.max_wait
            while len(batch) < self.max_batch:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), remaining))
                except TimeoutError:
                    break
            crops = np.stack([crop for crop, _ in batch]).astype(np.float32)
            try:
                probabilities = await loop.run_in_executor(self._network_thread, self.predictor.classify, crops)
            except Exception as error:  # every waiting caller must hear about the failure
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, future), row in zip(batch, probabilities, strict=True):
                if not future.done():
                    future.set_result(row)


_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, FaceBatcher] = weakref.WeakKeyDictionary()


async def _batcher() -> FaceBatcher:
    loop = asyncio.get_running_loop()
    batcher = _batchers.get(loop)
    if batcher is None:
        # The first call loads TensorFlow and the model: seconds, so never on the loop's thread.
        predictor = await loop.run_in_executor(_frame_pool, get_predictor)
        batcher = _batchers.setdefault(loop, FaceBatcher(predictor))
    return batcher


async def read_emotion(image: bytes, *, max_side: int, previous: Box | None = None) -> FaceResult | None:
    """Decode, detect and classify one webcam frame without blocking the loop; None when no face is seen.

    ``previous``: where the face was in the same participant's last frame, to search there first.
    """
    loop = asyncio.get_running_loop()
    located = await loop.run_in_executor(
        _frame_pool, lambda: locate_largest_face(image, max_side=max_side, previous=previous)
    )
    if located is None:
        return None
    batcher = await _batcher()
    return FaceResult.from_row(located.box, await batcher.classify(located.crop))


def read_emotion_sync(image: bytes, *, max_side: int) -> FaceResult | None:
    """The same for synchronous callers (the HTTP fallback): one frame, one network call."""
    located = locate_largest_face(image, max_side=max_side)
    if located is None:
        return None
    return FaceResult.from_row(located.box, get_predictor().classify(located.crop[None])[0])
