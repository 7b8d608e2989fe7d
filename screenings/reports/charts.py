"""Report charts drawn with matplotlib, returned as PNG bytes (served, embedded in pages and the PDF)."""

from __future__ import annotations

import functools
import io
from typing import TYPE_CHECKING, Any

from inference import EMOTION_COLOURS, EMOTIONS
from screenings.reports.aggregates import answer_sort_key

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@functools.cache
def _pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend, imported at the first chart.

    Importing it takes about half a second, which every process that loads the site (each
    ``manage.py`` command, each server and worker) would otherwise pay at start-up.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot

    return matplotlib.pyplot


def _literal(text: Any) -> str:
    """``text`` as matplotlib draws it letter for letter, never as mathtext.

    Titles, tick labels and answers come from organizers and participants; matplotlib reads
    text between two ``$`` as math, which draws ``$x^2$`` wrongly and fails on ``$a^^b$``.
    An escaped ``\\$`` is drawn as ``$``, so text with every dollar escaped is never math.
    """
    return str(text).replace("$", r"\$")


def _shortened(text: Any, length: int) -> str:
    """At most ``length`` characters of ``text``, cut before escaping so no escape is cut in half."""
    text = str(text)
    return _literal(text if len(text) <= length else text[: length - 1] + "…")


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=100)
    _pyplot().close(figure)
    return buffer.getvalue()


def _empty(figure: Figure, axis: Any, message: str) -> bytes:
    axis.text(0.5, 0.5, message, ha="center", va="center", transform=axis.transAxes, color="#666")
    axis.set_axis_off()
    return _png(figure)


def timeline_png(
    points: list[dict[str, Any]], *, time_key: str = "start", title: str = "Emotion probability against time"
) -> bytes:
    """One line per emotion: probability (0-1) over media time."""
    figure, axis = _pyplot().subplots(figsize=(10, 4))
    if not points:
        return _empty(figure, axis, "No faces were read yet.")
    times = [p[time_key] for p in points]
    for emotion in EMOTIONS:
        axis.plot(times, [p[emotion] if p[emotion] is not None else float("nan") for p in points],
                  label=emotion, color=EMOTION_COLOURS[emotion], linewidth=1.4)  # fmt: skip
    axis.set(xlabel="media time (s)", ylabel="probability", ylim=(0, 1), title=_literal(title))
    axis.grid(alpha=0.3)
    axis.legend(ncol=7, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.18), frameon=False)
    return _png(figure)


def summary_png(shares: dict[str, float], *, title: str = "Summary of reactions") -> bytes:
    """Bars: share of each dominant emotion."""
    figure, axis = _pyplot().subplots(figsize=(6, 3.5))
    if not any(shares.values()):
        return _empty(figure, axis, "No faces were read yet.")
    axis.bar(list(EMOTIONS), [shares[e] * 100 for e in EMOTIONS], color=[EMOTION_COLOURS[e] for e in EMOTIONS])
    axis.set(ylabel="% of samples", title=_literal(title))
    axis.grid(axis="y", alpha=0.3)
    return _png(figure)


def scenes_png(scenes: list[dict[str, Any]]) -> bytes:
    """Grouped bars: the dominant-emotion shares within each scene."""
    figure, axis = _pyplot().subplots(figsize=(9, 3.8))
    if not scenes:
        return _empty(figure, axis, "No scenes are defined for this screening.")
    width = 0.8 / len(EMOTIONS)
    for index, emotion in enumerate(EMOTIONS):
        positions = [s + index * width for s in range(len(scenes))]
        axis.bar(positions, [scene["shares"][emotion] * 100 for scene in scenes], width, label=emotion,
                 color=EMOTION_COLOURS[emotion])  # fmt: skip
    axis.set_xticks([s + 0.4 - width / 2 for s in range(len(scenes))], [_literal(scene["label"]) for scene in scenes])
    axis.set(ylabel="% of samples", title="Reactions per scene")
    axis.legend(ncol=7, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)
    return _png(figure)


def distribution_png(question: dict[str, Any]) -> bytes:
    """Side-by-side bars of a question's answers before and after, on the question's own axis.

    ``question["categories"]`` is the axis: every choice in the question's order, every point of
    a Likert scale, or a number question's histogram bins, so a point nobody chose still shows.
    The legend sits outside the axes, where it covers no bar.
    """
    figure, axis = _pyplot().subplots(figsize=(6, 3.2))
    distributions = question["distributions"]
    answers = question.get("categories") or sorted({a for c in distributions.values() for a in c}, key=answer_sort_key)
    if not any(distributions.values()):
        return _empty(figure, axis, "No answers yet.")
    phases = [phase for phase in ("before", "after") if phase in distributions]
    histogram = question.get("shown_as") == "histogram"
    width = (1.0 if histogram else 0.8) / max(1, len(phases))
    for index, phase in enumerate(phases):
        counts = distributions[phase]
        axis.bar([a + index * width for a in range(len(answers))], [counts.get(x, 0) for x in answers], width,
                 label=phase, color="#9bb4e8" if phase == "before" else "#2f5bd3",
                 edgecolor="white" if histogram else None, align="edge" if histogram else "center")  # fmt: skip
    offset = 0.5 if histogram else width * (len(phases) - 1) / 2
    rotation = 20 if max(len(str(x)) for x in answers) > 4 and len(answers) > 3 else 0
    axis.set_xticks([a + offset for a in range(len(answers))], [_shortened(x, 17) for x in answers],
                    rotation=rotation)  # fmt: skip
    from matplotlib.ticker import MaxNLocator

    axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set(ylabel="participants", title=_shortened(question["question"], 70))
    if histogram:
        axis.set_xlabel("answer (bins)")
    axis.grid(axis="y", alpha=0.3)
    axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return _png(figure)


def emotion_by_answer_png(table: dict[str, Any], *, emotion: str = "happy") -> bytes:
    """Bars: the mean of one emotion while watching, for each after-answer."""
    figure, axis = _pyplot().subplots(figsize=(6, 3.2))
    rows = table["rows"]
    if not rows:
        return _empty(figure, axis, "No answers joined with emotion readings yet.")
    positions = range(len(rows))
    axis.bar(positions, [row["means"][emotion] for row in rows], color=EMOTION_COLOURS[emotion])
    axis.set_xticks(positions, [_shortened(row["answer"], 16) for row in rows])
    axis.set(ylabel=f"mean {emotion} while watching", title=_shortened(table["question"], 70))
    axis.grid(axis="y", alpha=0.3)
    return _png(figure)
