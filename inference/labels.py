"""The seven FER2013 emotion labels, in the data set's own order, and the fixed shape of what the network reads."""

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NUM_CLASSES = len(EMOTIONS)
FACE_SIZE = 48
# How many test-time views of a face the network can read and average (inference.preprocessing makes them).
TEST_TIME_VIEW_COUNTS = (1, 2, 4)
# The site's palette, one colour per emotion: report charts, annotated pictures and the live view
# (which is given these through its page configuration, screenings/web/client.py) all draw with it.
EMOTION_COLOURS: dict[str, str] = {
    "angry": "#d62728",
    "disgust": "#8c564b",
    "fear": "#9467bd",
    "happy": "#2ca02c",
    "sad": "#1f77b4",
    "surprise": "#ff7f0e",
    "neutral": "#7f7f7f",
}

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
