"""What a face detector finds: boxes, the five landmarks YuNet gives, and which faces a caller wants."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

Point = tuple[float, float]


class FaceMode(Enum):
    LARGEST = "largest"  # a participant at a webcam: one face, the nearest
    ALL = "all"  # an audience or a recorded video: every face


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    width: int
    height: int

    @property
    def area(self) -> int:
        return self.width * self.height

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.width, self.height)

    def intersection(self, other: Box) -> int:
        """The area this box shares with ``other``."""
        width = max(0, min(self.x + self.width, other.x + other.width) - max(self.x, other.x))
        height = max(0, min(self.y + self.height, other.y + other.height) - max(self.y, other.y))
        return width * height

    def overlap(self, other: Box) -> float:
        """Intersection over union with ``other``: 1 for the same box, 0 for boxes apart."""
        shared = self.intersection(other)
        return shared / max(1, self.area + other.area - shared)

    def clipped(self, width: int, height: int) -> Box:
        """This box cut to an image of ``width`` x ``height`` pixels (at least one pixel wide and high)."""
        left, top = min(width - 1, max(0, self.x)), min(height - 1, max(0, self.y))
        right = min(width, max(left + 1, self.x + self.width))
        bottom = min(height, max(top + 1, self.y + self.height))
        return Box(left, top, right - left, bottom - top)


@dataclass(frozen=True)
class Landmarks:
    """Five points of a face in image pixels. "Right" and "left" are the person's own: in a
    frontal face the right eye is the one on the image's left."""

    right_eye: Point
    left_eye: Point
    nose: Point
    right_mouth: Point
    left_mouth: Point

    @classmethod
    def from_array(cls, points: np.ndarray) -> Landmarks:
        """From a (5, 2) array in the order above (YuNet's)."""
        pairs = [(float(x), float(y)) for x, y in np.asarray(points, dtype=np.float64).reshape(5, 2)]
        return cls(*pairs)

    def as_array(self) -> np.ndarray:
        """A (5, 2) float64 array in the order of the fields."""
        return np.array([self.right_eye, self.left_eye, self.nose, self.right_mouth, self.left_mouth])

    def as_lists(self) -> list[list[float]]:
        return [[round(x, 1), round(y, 1)] for x, y in self.as_array()]


@dataclass(frozen=True)
class Face:
    """One detected face: its box, its landmarks (YuNet; None from the Haar cascade) and the detector's score."""

    box: Box
    landmarks: Landmarks | None = None
    score: float | None = None
