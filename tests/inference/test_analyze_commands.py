"""The analyze_image and analyze_video management commands, run through call_command."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.inference.test_video_analysis import rgb, write_clip


def run(*arguments: str) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command(*arguments, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


@pytest.fixture
def astronaut_file(tmp_path, astronaut_jpeg) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path / "inputs" / "astronaut.jpg"
    path.parent.mkdir()
    path.write_bytes(astronaut_jpeg)
    return path


@pytest.fixture
def astronaut_clip(tmp_path, astronaut_jpeg) -> Path:  # type: ignore[no-untyped-def]
    from PIL import Image

    photo = np.asarray(Image.open(io.BytesIO(astronaut_jpeg)).resize((320, 240)))
    blank = rgb(np.full((240, 320), 90, dtype=np.uint8))
    return write_clip(tmp_path / "astronaut.mp4", [photo] * 20 + [blank] * 10)


# analyze_image --------------------------------------------------------------------------


def test_analyze_image_writes_a_png_and_a_json_per_image_and_prints_the_emotions(astronaut_file, tmp_path):
    stdout, _ = run("analyze_image", str(astronaut_file), "--out", str(tmp_path / "out"))
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["astronaut.json", "astronaut.png"]
    assert "1 face" in stdout and "happy" in stdout and "%" in stdout and "neutral" in stdout
    document = json.loads((tmp_path / "out" / "astronaut.json").read_text())
    assert document["source"] == "astronaut.jpg" and len(document["faces"]) == 1


def test_two_images_with_the_same_name_get_different_outputs(astronaut_file, tmp_path):
    other = tmp_path / "other" / "Astronaut.jpg"
    other.parent.mkdir()
    other.write_bytes(astronaut_file.read_bytes())
    run("analyze_image", str(astronaut_file), str(other), "--out", str(tmp_path / "out"))
    names = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert names == ["Astronaut-2.json", "Astronaut-2.png", "astronaut.json", "astronaut.png"]


def test_a_bad_image_is_reported_the_others_are_written_and_the_command_fails_at_the_end(astronaut_file, tmp_path):
    bad = tmp_path / "inputs" / "notes.jpg"
    bad.write_text("not an image")
    stdout, stderr = io.StringIO(), io.StringIO()
    arguments = [str(bad), str(astronaut_file), str(tmp_path / "missing.png")]
    with pytest.raises(CommandError, match="2 of 3 images could not be read") as raised:
        call_command("analyze_image", *arguments, "--out", str(tmp_path / "out"), stdout=stdout, stderr=stderr)
    assert raised.value.returncode == 1
    assert "notes.jpg: the data is not an image in a known format" in stderr.getvalue()
    assert "missing.png: no such file" in stderr.getvalue()
    assert "astronaut.jpg" in stdout.getvalue()
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["astronaut.json", "astronaut.png"]


def test_views_picks_a_predictor_reading_that_many_views(astronaut_file, tmp_path):
    run("analyze_image", str(astronaut_file), "--out", str(tmp_path / "out"), "--views", "1")
    assert (tmp_path / "out" / "astronaut.png").exists()
    with pytest.raises(CommandError, match="views must be one of"):
        run("analyze_image", str(astronaut_file), "--out", str(tmp_path / "out"), "--views", "3")


# analyze_video --------------------------------------------------------------------------


def test_analyze_video_writes_the_outputs_and_reports_progress_every_tenth(astronaut_clip, tmp_path):
    stdout, stderr = run("analyze_video", str(astronaut_clip), "--interval", "0.5", "--out", str(tmp_path / "out"))
    names = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert names == ["annotated.mp4", "summary.json", "table.csv", "timeline.csv", "timeline.png"]
    assert str(tmp_path / "out" / "timeline.csv") in stdout
    assert "Faces were found at 4 of 6 sampled times." in stdout
    # Not a terminal: whole lines, no carriage returns, ending at 100%.
    lines = stderr.splitlines()
    assert "\r" not in stderr and len(lines) <= 11 and lines[-1].startswith("100%")
    assert "elapsed" in lines[-1] and "remaining" in lines[-1]


def test_no_video_and_largest_face_skip_the_annotated_video(astronaut_clip, tmp_path):
    out_dir = tmp_path / "out"
    arguments = ["--interval", "1", "--out", str(out_dir), "--no-video", "--faces", "largest"]
    run("analyze_video", str(astronaut_clip), *arguments)
    assert not (out_dir / "annotated.mp4").exists()
    assert json.loads((out_dir / "summary.json").read_text())["face_mode"] == "largest"


def test_a_file_that_is_not_a_video_is_a_command_error_naming_the_reason(tmp_path):
    notes = tmp_path / "notes.mp4"
    notes.write_text("not a video")
    with pytest.raises(CommandError, match=r"notes\.mp4: the file is not a video"):
        run("analyze_video", str(notes), "--interval", "1", "--out", str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_a_missing_file_or_a_bad_interval_is_a_command_error(astronaut_clip, tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        run("analyze_video", str(tmp_path / "missing.mp4"), "--interval", "1", "--out", str(tmp_path / "out"))
    with pytest.raises(CommandError, match=r"at least 0\.1 s"):
        run("analyze_video", str(astronaut_clip), "--interval", "0", "--out", str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_an_out_dir_with_files_is_a_command_error(astronaut_clip, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(CommandError, match="not an empty folder"):
        run("analyze_video", str(astronaut_clip), "--interval", "1", "--out", str(tmp_path / "out"))
    assert [path.name for path in (tmp_path / "out").iterdir()] == ["keep.txt"]


def test_the_progress_bar_redraws_one_line_on_a_terminal():
    from django.core.management.base import OutputWrapper

    from inference.management.commands.analyze_video import ProgressBar

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    bar = ProgressBar(OutputWrapper(terminal))
    for fraction in (0.0, 0.25, 0.5, 1.0):
        bar.update(fraction)
    bar.finish()
    text = terminal.getvalue()
    assert text.count("\r") == 4 and text.endswith("\n") and text.count("\n") == 1
    assert "[" + "#" * 30 + "] 100%" in text
