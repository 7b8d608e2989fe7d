"""Emotion inference: images in, FER2013 emotion probabilities out.

This package knows images and models only. It never imports Django's ORM,
requests or sockets, so a plain Python script can use it.

The names below are what the rest of the site uses; import them from here. Importing the
package loads no model library: each name's module is imported when the name is first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from inference.config import ConfigurationError, ServingConfig, serving_config
from inference.labels import EMOTION_COLOURS, EMOTIONS

if TYPE_CHECKING:
    from inference.face_check import FaceVisibility, face_visibility
    from inference.faces import Box, FaceMode
    from inference.image_analysis import AnalyzedImage, ImageAnalysis, analyze_image, analyze_images
    from inference.images import InvalidImage
    from inference.labelled_archive import (
        LABELLED_OUTPUT_NAMES,
        ArchiveLimits,
        InvalidArchive,
        LabelledEvaluation,
        evaluate_labelled_archive,
        inspect_labelled_archive,
        write_labelled_outputs,
    )
    from inference.predictor import EmotionPredictor, FaceResult, get_predictor
    from inference.serving import FaceTrack, Reading, read_emotion, read_emotion_sync
    from inference.video_analysis import (
        MINIMUM_INTERVAL,
        InvalidVideo,
        VideoAnalysis,
        analyze_video,
        read_timeline,
        sample_times,
        video_duration,
    )

# Each lazily imported name and the module that defines it.
_LAZY = {
    "FaceVisibility": "inference.face_check",
    "face_visibility": "inference.face_check",
    "Box": "inference.faces",
    "FaceMode": "inference.faces",
    "AnalyzedImage": "inference.image_analysis",
    "ImageAnalysis": "inference.image_analysis",
    "analyze_image": "inference.image_analysis",
    "analyze_images": "inference.image_analysis",
    "InvalidImage": "inference.images",
    "LABELLED_OUTPUT_NAMES": "inference.labelled_archive",
    "ArchiveLimits": "inference.labelled_archive",
    "InvalidArchive": "inference.labelled_archive",
    "LabelledEvaluation": "inference.labelled_archive",
    "evaluate_labelled_archive": "inference.labelled_archive",
    "inspect_labelled_archive": "inference.labelled_archive",
    "write_labelled_outputs": "inference.labelled_archive",
    "EmotionPredictor": "inference.predictor",
    "FaceResult": "inference.predictor",
    "get_predictor": "inference.predictor",
    "FaceTrack": "inference.serving",
    "Reading": "inference.serving",
    "read_emotion": "inference.serving",
    "read_emotion_sync": "inference.serving",
    "MINIMUM_INTERVAL": "inference.video_analysis",
    "InvalidVideo": "inference.video_analysis",
    "VideoAnalysis": "inference.video_analysis",
    "analyze_video": "inference.video_analysis",
    "read_timeline": "inference.video_analysis",
    "sample_times": "inference.video_analysis",
    "video_duration": "inference.video_analysis",
}

__all__ = [
    "EMOTIONS",
    "EMOTION_COLOURS",
    "LABELLED_OUTPUT_NAMES",
    "MINIMUM_INTERVAL",
    "AnalyzedImage",
    "ArchiveLimits",
    "Box",
    "ConfigurationError",
    "EmotionPredictor",
    "FaceMode",
    "FaceResult",
    "FaceTrack",
    "FaceVisibility",
    "ImageAnalysis",
    "InvalidArchive",
    "InvalidImage",
    "InvalidVideo",
    "LabelledEvaluation",
    "Reading",
    "ServingConfig",
    "VideoAnalysis",
    "analyze_image",
    "analyze_images",
    "analyze_video",
    "evaluate_labelled_archive",
    "face_visibility",
    "get_predictor",
    "inspect_labelled_archive",
    "read_emotion",
    "read_emotion_sync",
    "read_timeline",
    "sample_times",
    "serving_config",
    "video_duration",
    "write_labelled_outputs",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'inference' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    # Cached on the package: the next use does not come back here.
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
