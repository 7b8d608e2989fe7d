"""The camera check's verdict on a preview frame: is the face seen, is it lit, and what to do if not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inference import FaceVisibility

# Mean grey (0-255) of the face below which its expression is hard to read.
DARK_FACE_BRIGHTNESS = 60.0
# A face this much darker than the picture around it is lit from behind (a window at the back).
BACKLIGHT_DIFFERENCE = 60.0
# A picture this dark on average hides any face in it.
DARK_FRAME_BRIGHTNESS = 40.0
# A face narrower than this share of the picture's shorter side is found only some of the time.
CLOSE_ENOUGH_SHARE = 0.25

# Preview frames one participant may have checked in a minute; the page sends one every few seconds.
FACE_CHECKS_PER_MINUTE = 30
# While watching, this many samples in a row without a face make the page say so.
NO_FACE_SAMPLES_BEFORE_NOTICE = 3

NO_FACE = "We can't see your face: sit facing the camera, about an arm's length away."
TOO_FAR = "Your face is small in the picture: move closer to the camera."
TOO_DARK = "Your face is too dark: light your face from the front (a lamp or a window in front of you, not behind)."
CLEARLY_VISIBLE = "Your face is clearly visible."


@dataclass(frozen=True)
class FaceCheck:
    """``face``: live capture finds the face (the check passes). ``problem``: what to improve, if anything."""

    face: bool
    light: bool
    problem: str | None
    guidance: str

    def as_message(self) -> dict[str, Any]:
        return {"face": self.face, "light": self.light, "problem": self.problem, "guidance": self.guidance}


def _lit(visibility: FaceVisibility) -> bool:
    if visibility.face_brightness is None:
        return visibility.frame_brightness >= DARK_FRAME_BRIGHTNESS
    backlit = visibility.frame_brightness - visibility.face_brightness >= BACKLIGHT_DIFFERENCE
    return visibility.face_brightness >= DARK_FACE_BRIGHTNESS and not backlit


def face_check_verdict(visibility: FaceVisibility) -> FaceCheck:
    """What the participant is told about one preview frame, in plain words."""
    face = visibility.face is not None
    light = _lit(visibility)
    share = visibility.face_share
    if not light:
        return FaceCheck(face, light, "too_dark", TOO_DARK)
    if share is not None and (not face or share < CLOSE_ENOUGH_SHARE):
        return FaceCheck(face, light, "too_far", TOO_FAR)
    if not face:
        return FaceCheck(face, light, "no_face", NO_FACE)
    return FaceCheck(face, light, None, CLEARLY_VISIBLE)
