"""analyze_video on short generated H.264 clips with real FER2013 faces shown at known times."""

from __future__ import annotations

import csv
import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest

from inference.faces import Box, FaceMode
from inference.labels import EMOTIONS
from inference.video_analysis import (
    NO_FACE_MESSAGE,
    VIDEO_SETTINGS,
    InvalidVideo,
    TimelineRow,
    analyze_video,
    probe_video,
    read_timeline,
    sample_times,
)
from tests.media_clips import write_clip

FPS = 10
WIDTH, HEIGHT = 320, 240
FACE_SIDE = 150
BACKGROUND = 100
# The clip: a happy face 0-2 s, the empty background 2-4 s, a surprised face 4-6 s.
SCENES = (("happy", 2), (None, 2), ("surprise", 2))


def grey_frame(face: np.ndarray | None) -> np.ndarray:
    import cv2

    frame = np.full((HEIGHT, WIDTH), BACKGROUND, dtype=np.uint8)
    if face is not None:
        top, left = (HEIGHT - FACE_SIDE) // 2, (WIDTH - FACE_SIDE) // 2
        frame[top : top + FACE_SIDE, left : left + FACE_SIDE] = cv2.resize(
            face, (FACE_SIDE, FACE_SIDE), interpolation=cv2.INTER_CUBIC
        )
    return frame


def rgb(grey: np.ndarray) -> np.ndarray:
    return np.repeat(grey[:, :, None], 3, axis=2)


def decoded_frames(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def top_level_atoms(path: Path) -> list[str]:
    """The MP4's top-level box types in file order."""
    names, data, offset = [], path.read_bytes(), 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        names.append(kind.decode("latin-1"))
        if size < 8:
            break
        offset += size
    return names


@pytest.fixture(scope="module")
def predictor():  # type: ignore[no-untyped-def]
    from inference.predictor import get_predictor

    return get_predictor()


@pytest.fixture(scope="module")
def clear_faces(fer_faces, predictor) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    """Per emotion (happy, surprise), the FER2013 face found alone and read most surely as that emotion."""
    chosen = {}
    for emotion in ("happy", "surprise"):
        labelled = zip(fer_faces.images, fer_faces.labels, strict=True)
        faces = [image[:, :, 0] for image, label in labelled if EMOTIONS[label] == emotion]
        results = predictor.predict([grey_frame(face) for face in faces], mode=FaceMode.ALL, settings=VIDEO_SETTINGS)
        alone = [(index, found[0]) for index, found in enumerate(results) if len(found) == 1]
        sure = [(face.confidence, index) for index, face in alone if face.emotion == emotion]
        assert sure, f"no {emotion} face in the sample is found and read as {emotion}"
        confidence, index = max(sure)
        assert confidence > 0.6
        chosen[emotion] = faces[index]
    return chosen


@pytest.fixture(scope="module")
def face_clip(tmp_path_factory, clear_faces) -> Path:  # type: ignore[no-untyped-def]
    frames = []
    for emotion, seconds in SCENES:
        frames += [rgb(grey_frame(clear_faces.get(emotion)))] * (seconds * FPS)
    return write_clip(tmp_path_factory.mktemp("clips") / "faces.mp4", frames)


@pytest.fixture(scope="module")
def face_analysis(face_clip, tmp_path_factory, predictor):  # type: ignore[no-untyped-def]
    out_dir = tmp_path_factory.mktemp("analysis") / "faces"
    return analyze_video(face_clip, out_dir, interval=1.0, predictor=predictor)


@pytest.fixture
def blank_clip(tmp_path) -> Path:
    return write_clip(tmp_path / "blank.mp4", [rgb(grey_frame(None))] * (2 * FPS))


def expected_emotion(moment: float) -> str | None:
    start = 0.0
    for emotion, seconds in SCENES:
        if start <= moment < start + seconds:
            return emotion
        start += seconds
    raise AssertionError(f"{moment} is outside the clip")


def assert_nothing_left(parent: Path, out_dir: Path, inputs: set[str]) -> None:
    assert not out_dir.exists()
    assert {path.name for path in parent.iterdir()} <= inputs


# Sampled times ---------------------------------------------------------------------------


def test_sampled_times_are_multiples_of_the_interval_strictly_below_the_duration():
    assert sample_times(3.0, 1.0) == [0.0, 1.0, 2.0]
    assert sample_times(3.01, 1.0) == [0.0, 1.0, 2.0, 3.0]
    assert sample_times(0.3, 0.1) == [0.0, 0.1, 0.2]
    assert sample_times(1.0, 0.25) == [0.0, 0.25, 0.5, 0.75]
    assert sample_times(0.0, 1.0) == []


def test_sampled_times_do_not_drift_over_a_long_video():
    times = sample_times(3600.0, 0.1)
    assert len(times) == 36000
    assert times[-1] == 3599.9
    assert all(moment == round(index / 10, 3) for index, moment in enumerate(times))


@pytest.mark.parametrize("interval", [0, -1, 0.05, math.nan, math.inf])
def test_an_interval_below_a_tenth_of_a_second_or_not_a_number_is_refused(interval):
    with pytest.raises(ValueError, match=r"the interval must be at least 0\.1 s"):
        sample_times(10.0, interval)


# The outputs -----------------------------------------------------------------------------


def test_probe_reports_the_clips_length_size_rate_and_codec(face_clip):
    info = probe_video(face_clip)
    assert (info.width, info.height, info.codec) == (WIDTH, HEIGHT, "h264")
    assert info.duration == pytest.approx(6.0, abs=0.01)
    assert info.fps == pytest.approx(FPS)


def test_it_writes_every_output_into_the_out_dir_and_no_temporary_folder(face_analysis):
    out_dir = face_analysis.out_dir
    assert sorted(path.name for path in out_dir.iterdir()) == sorted(
        ["timeline.csv", "table.csv", "timeline.png", "annotated.mp4", "summary.json"]
    )
    assert set(face_analysis.files) == {"timeline", "table", "plot", "video", "summary"}
    assert all(path.parent == out_dir and path.exists() for path in face_analysis.files.values())
    assert [path.name for path in out_dir.parent.iterdir()] == [out_dir.name]


@pytest.mark.parametrize("interval", [1.0, 0.5])
def test_it_writes_a_row_for_every_sampled_time(face_clip, tmp_path, predictor, interval):
    analysis = analyze_video(face_clip, tmp_path / "out", interval=interval, predictor=predictor, annotate=False)
    rows = list(read_timeline(analysis.files["timeline"]))
    assert [row.time for row in rows] == sample_times(6.0, interval)
    for row in rows:
        emotion = expected_emotion(row.time)
        assert row.dominant == emotion, f"at {row.time} s"
        assert (row.face is None) == (emotion is None)
    assert analysis.sampled_times == analysis.rows == len(rows)
    assert analysis.times_with_faces == sum(row.face is not None for row in rows)


def test_a_face_row_holds_its_box_and_seven_probabilities_that_sum_to_one(face_analysis):
    with face_analysis.files["timeline"].open(newline="") as handle:
        records = list(csv.reader(handle))
    assert records[0] == ["time", "face", "x", "y", "width", "height", *EMOTIONS, "dominant", "looking_at_screen"]
    first = records[1]
    assert first[0] == "0.000" and first[1] == "0"
    assert all(len(value.split(".")[1]) == 4 for value in first[6:13])
    assert sum(float(value) for value in first[6:13]) == pytest.approx(1.0, abs=0.002)
    x, y, width, height = (int(value) for value in first[2:6])
    # The face was pasted at the centre, FACE_SIDE pixels wide.
    assert abs(x + width / 2 - WIDTH / 2) < 20 and abs(y + height / 2 - HEIGHT / 2) < 20
    assert 0.5 * FACE_SIDE < width < 1.5 * FACE_SIDE
    blank = records[3]
    assert blank == ["2.000"] + [""] * 14
    # The face pasted on the frame looks straight at the camera.
    assert first[14] == "1"


def test_read_timeline_gives_back_the_rows_as_written(face_analysis):
    rows = list(read_timeline(face_analysis.files["timeline"]))
    assert len(rows) == face_analysis.rows
    assert rows[2] == TimelineRow(2.0, None, None, None) and rows[2].dominant is None
    assert rows[0].box is not None and rows[0].probabilities is not None
    assert list(rows[0].probabilities) == list(EMOTIONS)
    assert rows[0].looking_at_screen is True


def test_a_timeline_written_before_the_attention_column_still_reads(tmp_path):
    earlier = tmp_path / "timeline.csv"
    probabilities = ",".join(["0.1000"] * 6 + ["0.4000"])
    earlier.write_text(
        "time,face,x,y,width,height," + ",".join(EMOTIONS) + ",dominant\n"
        f"0.000,0,10,20,30,40,{probabilities},neutral\n" + "1.000" + "," * 14 + "\n"
    )
    face, blank = read_timeline(earlier)
    assert face.box == Box(10, 20, 30, 40) and face.dominant == "neutral" and face.looking_at_screen is None
    assert blank == TimelineRow(1.0, None, None, None)


def test_the_table_has_one_column_per_sampled_time_and_a_single_one_where_a_face_was_found(face_analysis):
    with face_analysis.files["table"].open(newline="") as handle:
        records = list(csv.reader(handle))
    assert records[0] == ["emotion", "0.000", "1.000", "2.000", "3.000", "4.000", "5.000"]
    assert [record[0] for record in records[1:]] == list(EMOTIONS)
    cells = np.array([[int(cell) for cell in record[1:]] for record in records[1:]])
    for column, moment in enumerate(sample_times(6.0, 1.0)):
        emotion = expected_emotion(moment)
        if emotion is None:
            assert cells[:, column].sum() == 0
        else:
            assert cells[:, column].sum() == 1 and cells[EMOTIONS.index(emotion), column] == 1


def test_the_summary_says_what_was_read_and_with_which_model(face_analysis, predictor):
    summary = json.loads(face_analysis.files["summary"].read_text())
    assert summary["source"] == "faces.mp4"
    assert summary["sampled_times"] == 6 and summary["times_with_faces"] == 4
    assert summary["rows"] == face_analysis.rows
    assert summary["model_version"] == predictor.version
    assert summary["interval"] == 1.0 and summary["width"] == WIDTH and summary["fps"] == pytest.approx(FPS)
    assert summary["message"] == face_analysis.message != NO_FACE_MESSAGE


def test_the_plot_is_a_png(face_analysis):
    from PIL import Image

    with Image.open(face_analysis.files["plot"]) as image:
        assert image.format == "PNG" and image.width > 500


def test_the_annotated_video_is_faststart_h264_with_every_source_frame(face_analysis, face_clip):
    import av

    video = face_analysis.files["video"]
    atoms = top_level_atoms(video)
    assert atoms.index("moov") < atoms.index("mdat")
    with av.open(str(video)) as output, av.open(str(face_clip)) as source:
        out_stream, source_stream = output.streams.video[0], source.streams.video[0]
        assert out_stream.codec_context.name == "h264"
        assert out_stream.codec_context.pix_fmt == "yuv420p"
        assert (out_stream.width, out_stream.height) == (WIDTH, HEIGHT)
        out_duration = float(out_stream.duration * out_stream.time_base)
        assert out_duration == pytest.approx(float(source_stream.duration * source_stream.time_base), abs=1 / FPS)
        assert sum(1 for _ in output.decode(out_stream)) == sum(1 for _ in source.decode(source_stream))


def test_the_annotated_video_shows_the_latest_samples_boxes_until_the_next_sample(face_analysis, face_clip):
    source, annotated = decoded_frames(face_clip), decoded_frames(face_analysis.files["video"])
    rows = {row.time: row for row in read_timeline(face_analysis.files["timeline"])}
    # Frame 15 (1.5 s) still shows the 1 s sample's box; frame 25 (2.5 s) follows the empty 2 s sample.
    # (Each frame is checked on its own sample's box: YuNet's boxes move by a pixel between
    # two encodings of the same picture.)
    for index, moment in ((0, 0.0), (15, 1.0)):
        box = rows[moment].box
        assert box is not None
        edge = np.s_[box.y, box.x : box.x + box.width]
        changed = np.abs(annotated[index][edge].astype(int) - source[index][edge].astype(int)).mean()
        assert changed > 40, f"frame {index}"
    unchanged = np.abs(annotated[25].astype(int) - source[25].astype(int)).mean()
    assert unchanged < 3


def test_without_an_annotated_video_the_timeline_is_the_same(face_analysis, face_clip, tmp_path, predictor):
    quick = analyze_video(face_clip, tmp_path / "quick", interval=1.0, predictor=predictor, annotate=False)
    assert "video" not in quick.files and not (quick.out_dir / "annotated.mp4").exists()
    assert quick.files["timeline"].read_text() == face_analysis.files["timeline"].read_text()
    assert quick.files["table"].read_text() == face_analysis.files["table"].read_text()


def test_largest_mode_writes_at_most_one_row_per_time(face_clip, tmp_path, predictor):
    analysis = analyze_video(
        face_clip, tmp_path / "out", interval=1.0, predictor=predictor, annotate=False, face_mode=FaceMode.LARGEST
    )
    assert [row.time for row in read_timeline(analysis.files["timeline"])] == sample_times(6.0, 1.0)


def test_a_video_without_faces_is_not_an_error(blank_clip, tmp_path, predictor):
    analysis = analyze_video(blank_clip, tmp_path / "out", interval=0.5, predictor=predictor)
    assert analysis.message == NO_FACE_MESSAGE and analysis.times_with_faces == 0
    rows = list(read_timeline(analysis.files["timeline"]))
    assert [row.time for row in rows] == sample_times(2.0, 0.5) and all(row.face is None for row in rows)
    assert json.loads(analysis.files["summary"].read_text())["message"] == NO_FACE_MESSAGE
    table = analysis.files["table"].read_text().splitlines()
    assert all(set(line.split(",")[1:]) == {"0"} for line in table[1:])
    assert analysis.files["plot"].stat().st_size > 0 and analysis.files["video"].stat().st_size > 0


def test_a_sideways_phone_video_is_read_upright(clear_faces, tmp_path, predictor):
    # Stored a quarter turn anticlockwise (as a phone held upright records), with the flag that turns it back.
    upright = rgb(grey_frame(clear_faces["happy"]))
    path = write_clip(tmp_path / "phone.mp4", [np.ascontiguousarray(np.rot90(upright))] * FPS, rotation=-90)
    info = probe_video(path)
    assert (info.width, info.height) == (WIDTH, HEIGHT)
    analysis = analyze_video(path, tmp_path / "out", interval=0.5, predictor=predictor)
    assert [row.dominant for row in read_timeline(analysis.files["timeline"])] == ["happy", "happy"]


def test_an_odd_sized_video_in_another_pixel_format_becomes_an_even_yuv420p_one(clear_faces, tmp_path, predictor):
    import av

    picture = np.zeros((HEIGHT + 1, WIDTH + 1, 3), dtype=np.uint8)
    picture[:HEIGHT, :WIDTH] = rgb(grey_frame(clear_faces["happy"]))
    path = write_clip(tmp_path / "odd.mp4", [picture] * FPS, pix_fmt="yuv444p")
    analysis = analyze_video(path, tmp_path / "out", interval=0.5, predictor=predictor)
    assert analysis.times_with_faces == 2
    with av.open(str(analysis.files["video"])) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height, stream.codec_context.pix_fmt) == (WIDTH, HEIGHT, "yuv420p")


# Progress and cancelling ----------------------------------------------------------------


def test_progress_rises_to_one(face_clip, tmp_path, predictor):
    fractions: list[float] = []
    analyze_video(face_clip, tmp_path / "out", interval=0.5, predictor=predictor, progress=fractions.append)
    assert len(fractions) >= 12
    assert fractions == sorted(fractions) and fractions[0] >= 0 and fractions[-1] == 1.0


def test_raising_from_progress_stops_the_job_and_leaves_nothing_behind(face_clip, tmp_path, predictor):
    class Cancelled(Exception):
        pass

    def cancel_at_half(fraction: float) -> None:
        if fraction > 0.5:
            raise Cancelled

    out_dir = tmp_path / "results" / "out"
    with pytest.raises(Cancelled):
        analyze_video(face_clip, out_dir, interval=0.5, predictor=predictor, progress=cancel_at_half)
    assert not out_dir.exists() and list(out_dir.parent.iterdir()) == []


# Bad input ------------------------------------------------------------------------------


def truncated(source: Path, path: Path) -> Path:
    data = source.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def long_clip(path: Path, clear_faces: dict[str, np.ndarray], *, faststart: bool) -> Path:
    frames = [rgb(grey_frame(clear_faces["happy"]))] * (8 * FPS)
    return write_clip(path, frames, faststart=faststart)


def text_file(folder: Path, faces: dict[str, np.ndarray]) -> Path:
    path = folder / "notes.mp4"
    path.write_text("not a video\n" * 50)
    return path


def empty_file(folder: Path, faces: dict[str, np.ndarray]) -> Path:
    path = folder / "empty.mp4"
    path.write_bytes(b"")
    return path


def truncated_clip(folder: Path, faces: dict[str, np.ndarray]) -> Path:
    # Without faststart the index (moov) is at the end: the first half has none.
    return truncated(long_clip(folder / "whole.mp4", faces, faststart=False), folder / "cut.mp4")


def truncated_faststart_clip(folder: Path, faces: dict[str, np.ndarray]) -> Path:
    # With faststart the index promises 8 s of frames; the data for the second half is gone.
    return truncated(long_clip(folder / "whole.mp4", faces, faststart=True), folder / "cut.mp4")


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (text_file, "not a video"),
        (empty_file, "the file is empty"),
        (truncated_clip, "not a video"),
        (truncated_faststart_clip, r"damaged or truncated: frames stop at \d+\.\d s of 8\.0 s"),
    ],
)
def test_a_file_that_is_not_a_whole_video_is_refused_with_its_reason(tmp_path, clear_faces, predictor, make, reason):
    path = make(tmp_path, clear_faces)
    inputs = {candidate.name for candidate in tmp_path.iterdir()}
    with pytest.raises(InvalidVideo, match=reason) as raised:
        analyze_video(path, tmp_path / "out", interval=1.0, predictor=predictor)
    assert raised.value.reason == str(raised.value)
    assert_nothing_left(tmp_path, tmp_path / "out", inputs)


def test_a_still_picture_or_a_sound_file_is_not_a_video(tmp_path, predictor):
    import wave

    from PIL import Image

    picture = tmp_path / "photo.mp4"
    Image.fromarray(rgb(grey_frame(None))).save(picture, format="JPEG")
    with pytest.raises(InvalidVideo, match="still picture"):
        analyze_video(picture, tmp_path / "out", interval=1.0, predictor=predictor)
    sound = tmp_path / "sound.mp4"
    with wave.open(str(sound), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(8000)
        handle.writeframes(b"\0\0" * 8000)
    with pytest.raises(InvalidVideo, match="no video track"):
        probe_video(sound)
    assert_nothing_left(tmp_path, tmp_path / "out", {"photo.mp4", "sound.mp4"})


def test_a_video_over_the_pixel_limit_is_refused_before_decoding(face_clip, tmp_path, predictor):
    with pytest.raises(InvalidVideo, match=r"the video is 320x240; the limit is 50,000 pixels"):
        analyze_video(face_clip, tmp_path / "out", interval=1.0, predictor=predictor, max_pixels=50_000)
    assert_nothing_left(tmp_path, tmp_path / "out", set())


@pytest.mark.parametrize("interval", [0, -1, math.nan])
def test_a_bad_interval_is_refused_before_anything_is_written(face_clip, tmp_path, predictor, interval):
    with pytest.raises(ValueError, match=r"at least 0\.1 s"):
        analyze_video(face_clip, tmp_path / "out", interval=interval, predictor=predictor)
    assert_nothing_left(tmp_path, tmp_path / "out", set())


def test_an_out_dir_that_holds_files_is_refused_and_kept(face_clip, tmp_path, predictor):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        analyze_video(face_clip, out_dir, interval=1.0, predictor=predictor)
    assert [path.name for path in out_dir.iterdir()] == ["keep.txt"]


def test_an_empty_out_dir_is_filled(face_clip, tmp_path, predictor):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    analysis = analyze_video(face_clip, out_dir, interval=2.0, predictor=predictor, annotate=False)
    assert analysis.files["timeline"].exists() and [path.name for path in tmp_path.iterdir()] == ["out"]
