"""How visible a face is in a camera picture: found or not, how large, how well lit.

The camera check asks this of a few preview frames before a participant starts watching. It
runs the same face search as live capture (so "found" here means live capture will find it too),
then, when none is found, a wider search for smaller faces, which tells a participant who sits
too far away from one who is not in the picture. Nothing is classified: no network is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inference.faces import AUDIENCE_SETTINGS, WEBCAM_SETTINGS, Box, FaceMode
from inference.images import decode_grey
from inference.predictor import locate_faces


@dataclass(frozen=True)
class FaceVisibility:
    """One picture's face, as the camera check judges it.

    ``face``: the face live capture finds (None when it finds none). ``distant_face``: when
    ``face`` is None, a face the wider search finds, too small for live capture. Brightness is the
    mean grey level (0 black to 255 white) of the face's box, and of the whole picture.
    """

    face: Box | None
    distant_face: Box | None
    face_brightness: float | None
    frame_brightness: float
    frame_width: int
    frame_height: int

    @property
    def face_share(self) -> float | None:
        """The face box's longer side as a share of the picture's shorter side (None without a face).

        The longer side, as the detectors' smallest face is measured: a tight box is taller than wide.
        """
        box = self.face or self.distant_face
        if box is None:
            return None
        return max(box.width, box.height) / max(1, min(self.frame_width, self.frame_height))


def _mean_grey(grey: np.ndarray, box: Box | None = None) -> float:
    if box is not None:
        grey = grey[box.y : box.y + box.height, box.x : box.x + box.width]
    return float(grey.mean()) if grey.size else 0.0


def _largest_face(grey: np.ndarray, *, wider: bool = False) -> Box | None:
    # Live capture's own search (inference.serving), or the audience photos' one for smaller faces.
    located = locate_faces(grey, mode=FaceMode.LARGEST, settings=AUDIENCE_SETTINGS if wider else WEBCAM_SETTINGS)
    return located[0][0] if located else None


def face_visibility(image: bytes, *, max_side: int) -> FaceVisibility:
    """Decode a camera picture (raises ``InvalidImage``) and judge how visible its face is."""
    grey = decode_grey(image, max_side=max_side, max_pixels=max_side * max_side)
    height, width = grey.shape[:2]
    face = _largest_face(grey)
    distant = _largest_face(grey, wider=True) if face is None else None
    box = face or distant
    return FaceVisibility(
        face=face,
        distant_face=distant,
        face_brightness=_mean_grey(grey, box) if box is not None else None,
        frame_brightness=_mean_grey(grey),
        frame_width=width,
        frame_height=height,
    )
