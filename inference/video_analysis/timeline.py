"""Sampled times, the timeline.csv rows, and the table and plot built from timeline.csv after the pass."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.faces import Box
from inference.labels import EMOTION_COLOURS, EMOTIONS
from inference.predictor import FaceResult

MINIMUM_INTERVAL = 0.1
# Sampled times are whole milliseconds, and so are most container timestamps: a frame less
# than half a millisecond before a sampled time is the frame at that time.
TIME_TOLERANCE = 0.0005
TIMELINE_COLUMNS = ("time", "face", "x", "y", "width", "height", *EMOTIONS, "dominant", "looking_at_screen")
# Timelines written before the attention estimate had no looking_at_screen column; they still read.
_EARLIER_COLUMNS = TIMELINE_COLUMNS[:-1]
_LOOKING = {"1": True, "0": False, "": None}


@dataclass(frozen=True)
class TimelineRow:
    """One line of timeline.csv: a face at a sampled time, or the time alone when no face was found."""

    time: float
    face: int | None
    box: Box | None
    probabilities: dict[str, float] | None
    looking_at_screen: bool | None = None

    @property
    def dominant(self) -> str | None:
        if self.probabilities is None:
            return None
        return max(self.probabilities, key=self.probabilities.__getitem__)

    def as_record(self) -> list[str]:
        if self.probabilities is None or self.box is None:
            return [format_time(self.time)] + [""] * (len(TIMELINE_COLUMNS) - 1)
        return [
            format_time(self.time),
            str(self.face),
            *(str(value) for value in self.box.as_tuple()),
            *(f"{self.probabilities[emotion]:.4f}" for emotion in EMOTIONS),
            self.dominant or "",
            {True: "1", False: "0", None: ""}[self.looking_at_screen],
        ]

    @classmethod
    def from_record(cls, record: dict[str, str]) -> TimelineRow:
        if not record["face"]:
            return cls(float(record["time"]), None, None, None)
        box = Box(*(int(record[key]) for key in ("x", "y", "width", "height")))
        probabilities = {emotion: float(record[emotion]) for emotion in EMOTIONS}
        looking = _LOOKING.get(record.get("looking_at_screen") or "")
        return cls(float(record["time"]), int(record["face"]), box, probabilities, looking)


def format_time(seconds: float) -> str:
    """A sampled time as written in timeline.csv and as table.csv's column header: seconds, 3 decimals."""
    return f"{seconds:.3f}"


def sample_times(duration: float, interval: float) -> list[float]:
    """The sampled times: 0, interval, 2 x interval... strictly below ``duration``, in whole milliseconds.

    Each time is ``k * interval`` (not a running sum, which drifts). Raises ``ValueError`` for an
    interval below ``MINIMUM_INTERVAL`` (zero, negative, NaN) or infinite.
    """
    if not interval >= MINIMUM_INTERVAL:
        raise ValueError(f"the interval must be at least {MINIMUM_INTERVAL:g} s")
    if math.isinf(interval):
        raise ValueError(f"the interval must be at least {MINIMUM_INTERVAL:g} s and finite")
    if not math.isfinite(duration) or duration < 0:
        raise ValueError(f"the duration must be a finite number of seconds, got {duration!r}")
    times = []
    step = 0
    while (moment := round(step * interval, 3)) < duration:
        times.append(moment)
        step += 1
    return times


def read_timeline(path: Path) -> Iterator[TimelineRow]:
    """Read a timeline.csv back, one row at a time, in the order it was written (time, then face)."""
    with Path(path).open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) not in (TIMELINE_COLUMNS, _EARLIER_COLUMNS):
            raise ValueError(f"{path} is not a timeline.csv: its columns are {reader.fieldnames}")
        for record in reader:
            yield TimelineRow.from_record(record)


def timeline_rows(moment: float, faces: list[FaceResult]) -> list[TimelineRow]:
    """The rows for one sampled time: one per face (largest first), or one empty row without a face."""
    if not faces:
        return [TimelineRow(moment, None, None, None)]
    # Probabilities are rounded as written, so the dominant emotion read back is the one written.
    rounded = [{emotion: round(value, 4) for emotion, value in face.probabilities.items()} for face in faces]
    return [
        TimelineRow(moment, index, face.box, rounded[index], face.looking_at_screen) for index, face in enumerate(faces)
    ]


def write_table(timeline: Path, path: Path) -> None:
    """The paper's Table 1 from timeline.csv: 1 where an emotion is the largest face's dominant one at a time."""
    labels: list[str] = []
    dominants: list[str | None] = []
    for row in read_timeline(timeline):
        if row.face in (None, 0):
            labels.append(format_time(row.time))
            dominants.append(row.dominant)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["emotion", *labels])
        for emotion in EMOTIONS:
            writer.writerow([emotion, *("1" if dominant == emotion else "0" for dominant in dominants)])


def write_plot(timeline: Path, path: Path, *, title_note: str = "") -> None:
    """Each emotion's probability, averaged over the faces at each sampled time; gaps where no face was found."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    times, means = _mean_probabilities(timeline)
    # Figure and its Agg canvas directly, not pyplot: no global state, so threads can plot at once.
    figure = Figure(figsize=(10, 4), dpi=100, layout="tight")
    FigureCanvasAgg(figure)
    axis = figure.add_subplot()
    marker = "o" if len(times) <= 100 else None
    for column, emotion in enumerate(EMOTIONS):
        axis.plot(
            times, means[:, column], label=emotion, color=EMOTION_COLOURS[emotion], linewidth=1.4, marker=marker, ms=3
        )
    title = "Emotion probability against time (mean over faces)"
    title = f"{title}: {title_note}" if title_note else title
    axis.set(xlabel="time (s)", ylabel="probability", ylim=(0, 1), title=title)
    if len(times):
        axis.set_xlim(0, max(times[-1], 1e-3))
    axis.grid(alpha=0.3)
    axis.legend(ncol=len(EMOTIONS), fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15), frameon=False)
    figure.savefig(path, format="png")


def _mean_probabilities(timeline: Path) -> tuple[np.ndarray, np.ndarray]:
    times: list[float] = []
    sums: list[np.ndarray] = []
    counts: list[int] = []
    for row in read_timeline(timeline):
        if not times or row.time != times[-1]:
            times.append(row.time)
            sums.append(np.zeros(len(EMOTIONS)))
            counts.append(0)
        if row.probabilities is not None:
            sums[-1] += [row.probabilities[emotion] for emotion in EMOTIONS]
            counts[-1] += 1
    means = np.full((len(times), len(EMOTIONS)), np.nan)
    for index, (total, count) in enumerate(zip(sums, counts, strict=True)):
        if count:
            means[index] = total / count
    return np.asarray(times), means
