"""How hard each detector looks, per purpose: a participant's webcam, an audience photo, a recorded video.

The figures behind every default are measured by benchmarks/face_search.py (README, *Measured
figures*); change one only with its row there.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class HaarSettings:
    """How the Haar cascade searches.

    - ``scale_factor`` 1.1: each pyramid level is 10% smaller. Coarser steps (1.3) are faster
      but miss faces whose size falls between levels; 1.1 is OpenCV's and the reference's choice.
    - ``min_neighbors`` 5: a face must be found in five overlapping windows. Fewer gives false
      faces in textured backgrounds; more misses faces turned slightly away.
    - ``detect_width`` 240: the search runs on a copy scaled down to this width (never up);
      boxes are mapped back. A webcam face still spans 36+ pixels there (the cascade's window
      is 24), and the search costs a fraction of one at 640.
    """

    scale_factor: float = 1.1
    min_neighbors: int = 5
    detect_width: int | None = 240


@dataclass(frozen=True)
class YuNetSettings:
    """How YuNet searches: a quick look at a small copy of the image, then a closer look at doubtful faces.

    YuNet's cost grows with the pixels it reads (about 17 ms for 640x480 on one core, 3 ms for
    256x192), and it is surest of a face that fills much of its input: a face that scores 0.2
    in a small copy of the whole frame often scores 0.9 in a crop around it. So:

    - ``detect_width`` 256: the whole image is searched on a copy this wide (never enlarged).
    - ``accept_score`` 0.6: a face scoring this in that copy is taken as it is.
    - ``candidate_score`` 0.05: faces scoring less than ``accept_score`` but at least this get a
      closer look, the ``closer_looks`` (2) highest first: YuNet is run again on a crop of the
      full-resolution image around each, ``closer_context`` (1.15) times its box's longer side,
      scaled to ``closer_size`` (192) pixels square. There it is a face if it scores at least
      ``confirm_score`` (0.3), with the box and landmarks found there.
    - ``nms_threshold`` 0.3: YuNet's own merging of overlapping boxes.

    ``candidate_score`` equal to ``accept_score`` turns the closer look off.
    """

    detect_width: int | None = 256
    accept_score: float = 0.6
    candidate_score: float = 0.05
    confirm_score: float = 0.3
    closer_looks: int = 2
    closer_size: int = 192
    closer_context: float = 1.15
    nms_threshold: float = 0.3


@dataclass(frozen=True)
class DetectionSettings:
    """What counts as a face for a purpose, and how each detector looks for it.

    ``min_face_fraction`` 0.2: faces whose box is smaller (its longer side) than a fifth of the
    image's shorter side are ignored. A participant at a laptop webcam fills a third to a half of
    the frame's height; small windows are most of the Haar cascade's cost. Recorded videos and
    audiences use AUDIENCE_SETTINGS (or their own) instead.
    """

    min_face_fraction: float = 0.2
    haar: HaarSettings = field(default_factory=HaarSettings)
    yunet: YuNetSettings = field(default_factory=YuNetSettings)


WEBCAM_SETTINGS = DetectionSettings()
# Recorded videos and audience photos: full resolution and smaller faces. YuNet's whole-image
# search at full size finds small faces; the closer look still checks the doubtful ones.
AUDIENCE_SETTINGS = DetectionSettings(
    min_face_fraction=0.04,
    haar=HaarSettings(detect_width=None),
    yunet=YuNetSettings(detect_width=None, closer_looks=8),
)


def with_search_width(settings: DetectionSettings, width: int | None) -> DetectionSettings:
    """``settings`` with both detectors' whole-image search on a copy at most ``width`` pixels wide."""
    return replace(
        settings, haar=replace(settings.haar, detect_width=width), yunet=replace(settings.yunet, detect_width=width)
    )
