"""Asynchronous serving: decode and detect in a worker pool, classify faces from many callers in one batch.

Used by the websocket capture; it knows nothing about sockets or the database. Every
coroutine here runs its CPU work in threads, so the event loop is never blocked.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from inference.alignment import UPRIGHT, face_crop
from inference.config import DEFAULT_BATCH_BUDGET_MS, serving_config
from inference.faces import Box, FaceMode, detect_face_near
from inference.images import decode_grey
from inference.predictor import EmotionPredictor, FaceResult, LocatedFace, get_predictor, locate_faces

_frame_pool: ThreadPoolExecutor | None = None
_frame_pool_lock = threading.Lock()


def frame_pool() -> ThreadPoolExecutor:
    """The threads that decode frames and find faces: ``FRAME_WORKERS`` of the process's ``ServingConfig``."""
    global _frame_pool
    with _frame_pool_lock:
        if _frame_pool is None:
            workers = serving_config().frame_workers
            _frame_pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="frames")
        return _frame_pool


def locate_largest_face(
    image: bytes, *, max_side: int, previous: Box | None = None, predictor: EmotionPredictor | None = None
) -> LocatedFace | None:
    """Decode (raises ``InvalidImage``) and find the participant's face: the largest one, or None.

    With ``previous`` (the face's box in this participant's last frame) the search starts around it.
    ``predictor``'s detector and alignment are used (None: the process's ``FACE_DETECTOR``).
    """
    detector = predictor.detector if predictor is not None else None
    upright = predictor.upright if predictor is not None else UPRIGHT
    grey = decode_grey(image, max_side=max_side, max_pixels=max_side * max_side)
    if previous is not None:
        near = detect_face_near(grey, previous, detector=detector)
        if near is not None:
            return LocatedFace(near.box, face_crop(grey, near, upright=upright), near.landmarks)
    located = locate_faces(grey, mode=FaceMode.LARGEST, detector=detector, upright=upright)
    return located[0] if located else None


# Frames in a row without a face after which a participant's search no longer starts where the
# face was last seen. A participant who looks away or leaves the seat for a moment comes back to
# about the same place: the frame after a miss is found by the search near the old box (about a
# third of the whole frame's cost) instead of a whole-frame search.
TRACK_MISSES = 5


class FaceTrack:
    """Where one participant's face was last seen, for the search in their next frame to start there.

    ``box`` is the last face's box; it is kept through up to ``misses - 1`` frames in a row
    without a face, then forgotten (the whole frame is searched until a face is found again).
    """

    def __init__(self, *, misses: int = TRACK_MISSES) -> None:
        if misses < 1:
            raise ValueError(f"misses must be at least 1, got {misses}")
        self.misses = misses
        self.box: Box | None = None
        self._missed = 0

    def update(self, box: Box | None) -> None:
        """The face found in the participant's latest frame (None: no face)."""
        if box is not None:
            self.box, self._missed = box, 0
            return
        self._missed += 1
        if self._missed >= self.misses:
            self.box = None


# Weight of the newest batch in the running estimate of the network's cost per face and view.
COST_SMOOTHING = 0.2


class FaceBatcher:
    """Collects face crops from concurrent callers and classifies them in one network call.

    A caller waits at most ``max_wait`` seconds for others to join its batch; under load
    batches fill up to ``max_batch`` and the network's per-call cost is shared.

    Each batch is read with as many test-time views (up to the predictor's) as the network
    can read within ``budget`` seconds, judged from the cost of the batches before it: a few
    faces get every view, a crowd gets fewer, so the acknowledgements keep up with the frames.
    ``budget`` 0 always reads every view; live capture passes the configured
    ``CAPTURE_BATCH_BUDGET_MS``. Each face's result says how many views it got.
    """

    def __init__(
        self,
        predictor: EmotionPredictor,
        *,
        max_batch: int = 64,
        max_wait: float = 0.004,
        budget: float = DEFAULT_BATCH_BUDGET_MS / 1000,
    ) -> None:
        self.predictor = predictor
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.budget = budget
        # Seconds of network time per face and view, as measured; None until the first batch.
        self.cost_per_view: float | None = None
        self._queue: asyncio.Queue[tuple[np.ndarray, asyncio.Future[tuple[np.ndarray, int]]]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        # One thread for the network: TensorFlow already uses every core inside one call.
        self._network_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="network")

    async def classify(self, crop: np.ndarray) -> tuple[np.ndarray, int]:
        """The seven probabilities for one 48x48x1 crop, and the number of views they were read with."""
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._run())
        future: asyncio.Future[tuple[np.ndarray, int]] = asyncio.get_running_loop().create_future()
        await self._queue.put((crop, future))
        return await future

    def views_for(self, faces: int) -> int:
        """The most views (of the predictor's) whose estimated network time for ``faces`` fits the budget."""
        counts = self.predictor.view_counts
        if not self.budget or self.cost_per_view is None:
            return counts[-1]
        for views in reversed(counts):
            if faces * views * self.cost_per_view <= self.budget:
                return views
        return counts[0]

    def _measured(self, faces: int, views: int, seconds: float) -> None:
        cost = seconds / (faces * views)
        previous = self.cost_per_view
        self.cost_per_view = cost if previous is None else previous + COST_SMOOTHING * (cost - previous)

    def _read(self, crops: np.ndarray, views: int) -> np.ndarray:
        started = time.perf_counter()
        probabilities = self.predictor.classify(crops, views=views)
        self._measured(len(crops), views, time.perf_counter() - started)
        return probabilities

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
            views = self.views_for(len(batch))
            try:
                probabilities = await loop.run_in_executor(self._network_thread, self._read, crops, views)
            except Exception as error:  # every waiting caller must hear about the failure
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, future), row in zip(batch, probabilities, strict=True):
                if not future.done():
                    future.set_result((row, views))


_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, FaceBatcher] = weakref.WeakKeyDictionary()


async def _batcher() -> FaceBatcher:
    loop = asyncio.get_running_loop()
    batcher = _batchers.get(loop)
    if batcher is None:
        # The first call loads TensorFlow and the model: seconds, so never on the loop's thread.
        predictor = await loop.run_in_executor(frame_pool(), get_predictor)
        budget = serving_config().batch_budget_seconds
        batcher = _batchers.setdefault(loop, FaceBatcher(predictor, budget=budget))
    return batcher


@dataclass(frozen=True)
class Reading:
    """One webcam frame read: the face (None when none is seen) and the model version that read it.

    ``face.looking_at_screen`` (also ``looking_at_screen`` here) says whether the participant's
    head is turned less than about 30° from the camera; None without a face or without landmarks.
    """

    face: FaceResult | None
    model_version: str

    @property
    def looking_at_screen(self) -> bool | None:
        return self.face.looking_at_screen if self.face is not None else None


async def read_emotion(image: bytes, *, max_side: int, previous: Box | None = None) -> Reading:
    """Decode, detect and classify one webcam frame without blocking the loop.

    ``previous``: where the same participant's face was last seen (``FaceTrack``), to search there first.
    """
    loop = asyncio.get_running_loop()
    batcher = await _batcher()
    located = await loop.run_in_executor(
        frame_pool(),
        lambda: locate_largest_face(image, max_side=max_side, previous=previous, predictor=batcher.predictor),
    )
    if located is None:
        return Reading(None, batcher.predictor.version)
    row, views = await batcher.classify(located.crop)
    face = FaceResult.from_row(located.box, row, landmarks=located.landmarks)
    return Reading(face, batcher.predictor.version_for(views))


def read_emotion_sync(image: bytes, *, max_side: int) -> Reading:
    """The same for synchronous callers (the HTTP fallback): one frame, one network call, every view."""
    predictor = get_predictor()
    located = locate_largest_face(image, max_side=max_side, predictor=predictor)
    if located is None:
        return Reading(None, predictor.version)
    row = predictor.classify(located.crop[None])[0]
    return Reading(FaceResult.from_row(located.box, row, landmarks=located.landmarks), predictor.version)
