"""Evaluating an emotion model on labelled faces: accuracy, per-class precision and recall, confusion matrix."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.datasets import FaceSet
from inference.faces import AUDIENCE_SETTINGS, WEBCAM_SETTINGS, Box, DetectionSettings, FaceMode
from inference.labels import EMOTIONS, NUM_CLASSES
from inference.predictor import EmotionPredictor, locate_faces
from inference.synthetic_frames import is_the_face, pasted_frames

# The ways ``evaluate_emotion_model --frames`` can present each face: pasted into a webcam-like frame.
FRAME_KINDS = ("paste",)


@dataclass(frozen=True)
class EvaluationReport:
    n: int
    accuracy: float
    confusion: np.ndarray  # rows: true label, columns: predicted label (faces found only, when detecting)
    face_found_rate: float | None = None

    @property
    def accuracy_when_found(self) -> float | None:
        """The share read correctly among the faces found (None without detection)."""
        if self.face_found_rate is None:
            return None
        return float(np.trace(self.confusion) / max(1, self.confusion.sum()))

    def per_class(self) -> dict[str, dict[str, float | int]]:
        result = {}
        for index, emotion in enumerate(EMOTIONS):
            true_positive = int(self.confusion[index, index])
            predicted = int(self.confusion[:, index].sum())
            actual = int(self.confusion[index, :].sum())
            precision = true_positive / predicted if predicted else 0.0
            recall = true_positive / actual if actual else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            result[emotion] = {"precision": precision, "recall": recall, "f1": f1, "support": actual}
        return result

    def as_dict(self) -> dict:
        report: dict = {
            "n": self.n,
            "accuracy": self.accuracy,
            "per_class": self.per_class(),
            "confusion": self.confusion.tolist(),
            "labels": list(EMOTIONS),
        }
        if self.face_found_rate is not None:
            report["face_found_rate"] = self.face_found_rate
            report["accuracy_when_found"] = self.accuracy_when_found
        return report

    def as_text(self) -> str:
        lines = [f"faces: {self.n}", f"accuracy: {self.accuracy:.4f}"]
        if self.face_found_rate is not None:
            lines.append(f"face found: {self.face_found_rate:.4f} (a face not found counts as wrong)")
            lines.append(f"accuracy on the faces found: {self.accuracy_when_found:.4f}")
        lines.append(f"{'emotion':<10}{'precision':>10}{'recall':>10}{'f1':>8}{'support':>9}")
        for emotion, figures in self.per_class().items():
            lines.append(
                f"{emotion:<10}{figures['precision']:>10.3f}{figures['recall']:>10.3f}"
                f"{figures['f1']:>8.3f}{figures['support']:>9}"
            )
        lines.append("confusion (rows true, columns predicted): " + " ".join(e[:3] for e in EMOTIONS))
        lines.extend(
            f"{emotion:<10}" + " ".join(f"{v:>5}" for v in row)
            for emotion, row in zip(EMOTIONS, self.confusion, strict=True)
        )
        return "\n".join(lines)


def confusion_matrix(true_labels: np.ndarray, predicted_labels: np.ndarray) -> np.ndarray:
    matrix = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    np.add.at(matrix, (true_labels, predicted_labels), 1)
    return matrix


def evaluate(
    predictor: EmotionPredictor, faces: FaceSet, *, detect: bool = False, batch_size: int = 512
) -> EvaluationReport:
    """Classify every face; with ``detect``, each image goes through detection first and a miss counts as wrong."""
    if detect:
        return _evaluate_with_detection(predictor, faces, batch_size=batch_size)
    predictions = np.concatenate(
        [
            predictor.classify(faces.images[start : start + batch_size]).argmax(axis=1)
            for start in range(0, len(faces), batch_size)
        ]
    )
    matrix = confusion_matrix(faces.labels, predictions)
    return EvaluationReport(n=len(faces), accuracy=float(np.trace(matrix) / max(1, len(faces))), confusion=matrix)


def evaluate_frames(
    predictor: EmotionPredictor,
    faces: FaceSet,
    *,
    seed: int = 0,
    tilt: float = 0.0,
    jpeg_quality: int = 85,
    batch_size: int = 64,
    settings: DetectionSettings = WEBCAM_SETTINGS,
) -> EvaluationReport:
    """Each face as a participant's webcam frame would show it, through the whole serving pipeline.

    Every face is pasted into its own 640x480 frame at a random place and size (160-260 pixels),
    tilted by ``+tilt`` or ``-tilt`` degrees, on a textured background (``inference.synthetic_frames``,
    seeded), encoded as a JPEG, then decoded, searched (the predictor's detector; ``settings``
    default live capture's whole-frame search), cropped and classified as live capture does. A face counts as found
    when the largest face found is the pasted one; a face not found counts as wrong.
    """
    frames = pasted_frames(faces.images, seed=seed, tilt=tilt)
    found_labels: list[int] = []
    predicted: list[int] = []
    pending: list[tuple[bytes, Box | None, int]] = []

    def read_pending() -> None:
        results = predictor.predict([jpeg for jpeg, _, _ in pending], mode=FaceMode.LARGEST, settings=settings)
        for (_, truth, label), found in zip(pending, results, strict=True):
            if found and truth is not None and is_the_face(found[0].box, truth):
                found_labels.append(label)
                predicted.append(EMOTIONS.index(found[0].emotion))
        pending.clear()

    for frame, label in zip(frames, faces.labels, strict=True):
        pending.append((frame.jpeg(jpeg_quality), frame.face, int(label)))
        if len(pending) >= batch_size:
            read_pending()
    if pending:
        read_pending()
    matrix = confusion_matrix(np.array(found_labels, dtype=np.int64), np.array(predicted, dtype=np.int64))
    return EvaluationReport(
        n=len(faces),
        accuracy=float(np.trace(matrix)) / max(1, len(faces)),
        confusion=matrix,
        face_found_rate=len(found_labels) / max(1, len(faces)),
    )


def _evaluate_with_detection(predictor: EmotionPredictor, faces: FaceSet, *, batch_size: int) -> EvaluationReport:
    import cv2

    from inference.images import decode_grey

    found_labels: list[int] = []
    crops: list[np.ndarray] = []
    for image, label in zip(faces.images, faces.labels, strict=True):
        # Encode and decode so the whole serving path runs, as for an upload.
        encoded = cv2.imencode(".png", image)[1].tobytes()
        located = locate_faces(
            decode_grey(encoded),
            mode=FaceMode.LARGEST,
            settings=AUDIENCE_SETTINGS,
            detector=predictor.detector,
            upright=predictor.upright,
        )
        if located:
            crops.append(located[0].crop)
            found_labels.append(int(label))
    predicted = (
        np.concatenate(
            [
                predictor.classify(np.stack(crops[start : start + batch_size])).argmax(axis=1)
                for start in range(0, len(crops), batch_size)
            ]
        )
        if crops
        else np.zeros(0, dtype=np.int64)
    )
    matrix = confusion_matrix(np.array(found_labels, dtype=np.int64), predicted)
    correct = int(np.trace(matrix))
    return EvaluationReport(
        n=len(faces),
        accuracy=correct / max(1, len(faces)),
        confusion=matrix,
        face_found_rate=len(crops) / max(1, len(faces)),
    )


def confusion_png(report: EvaluationReport, path: Path, *, title: str = "Confusion matrix") -> None:
    """Draw the confusion matrix, normalised by row (recall), with counts in the cells."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = report.confusion
    normalised = counts / np.maximum(1, counts.sum(axis=1, keepdims=True))
    figure, axis = plt.subplots(figsize=(7, 6))
    image = axis.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    axis.set(xticks=range(NUM_CLASSES), yticks=range(NUM_CLASSES), xticklabels=EMOTIONS, yticklabels=EMOTIONS)
    axis.set(xlabel="predicted", ylabel="true", title=f"{title} (accuracy {report.accuracy:.1%})")
    plt.setp(axis.get_xticklabels(), rotation=45, ha="right")
    for row in range(NUM_CLASSES):
        for column in range(NUM_CLASSES):
            colour = "white" if normalised[row, column] > 0.5 else "black"
            axis.text(column, row, str(counts[row, column]), ha="center", va="center", color=colour, fontsize=8)
    figure.colorbar(image, ax=axis, fraction=0.046)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    path.write_bytes(buffer.getvalue())
