"""The seven FER2013 emotion labels, in the data set's own order."""

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NUM_CLASSES = len(EMOTIONS)
FACE_SIZE = 48

# Folder names seen in public image-folder data sets, mapped to the FER2013 label.
EMOTION_SYNONYMS: dict[str, str] = {
    "anger": "angry",
    "angry": "angry",
    "disgust": "disgust",
    "disgusted": "disgust",
    "fear": "fear",
    "fearful": "fear",
    "scared": "fear",
    "happy": "happy",
    "happiness": "happy",
    "joy": "happy",
    "sad": "sad",
    "sadness": "sad",
    "surprise": "surprise",
    "surprised": "surprise",
    "neutral": "neutral",
    "calm": "neutral",
}


def label_for_folder(folder_name: str) -> str | None:
    """Return the FER2013 label a class folder stands for, or None when it is outside the seven."""
    return EMOTION_SYNONYMS.get(folder_name.strip().lower())
