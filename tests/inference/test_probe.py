"""A video's duration: one rule, the video stream's own length before the container's."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from inference.video_analysis import InvalidVideo, probe_video, video_duration
from tests.media_clips import blank_rgb, write_clip


def clip_with_longer_audio(path: Path, *, video_seconds: int, audio_seconds: int) -> Path:
    """An MP4 whose AAC sound track runs on after the last frame, as a trimmed recording's can."""
    import av

    with av.open(str(path), mode="w") as container:
        video = container.add_stream("libx264", rate=10, options={"preset": "veryfast"})
        video.height, video.width, video.pix_fmt = 240, 320, "yuv420p"
        audio = container.add_stream("aac", rate=48000, layout="mono")
        for _ in range(video_seconds * 10):
            container.mux(video.encode(av.VideoFrame.from_ndarray(blank_rgb(), format="rgb24")))
        container.mux(video.encode())
        samples_per_frame = 1024
        for index in range(audio_seconds * 48000 // samples_per_frame):
            frame = av.AudioFrame.from_ndarray(
                np.zeros((1, samples_per_frame), dtype=np.float32), format="fltp", layout="mono"
            )
            frame.sample_rate, frame.pts = 48000, index * samples_per_frame
            container.mux(audio.encode(frame))
        container.mux(audio.encode())
    return path


def test_the_duration_is_the_video_streams_length(tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", [blank_rgb()] * 20)
    assert video_duration(clip) == pytest.approx(2.0, abs=0.01)
    assert probe_video(clip).duration == video_duration(clip)


def test_sound_running_past_the_last_frame_does_not_lengthen_the_video(tmp_path):
    import av

    clip = clip_with_longer_audio(tmp_path / "long-sound.mp4", video_seconds=2, audio_seconds=4)
    with av.open(str(clip)) as container:
        assert container.duration / av.time_base > 3.5, "the container counts the sound"
    assert video_duration(clip) == pytest.approx(2.0, abs=0.05)
    assert probe_video(clip).duration == video_duration(clip)


def test_a_file_that_is_not_a_video_is_refused(tmp_path):
    notes = tmp_path / "notes.mp4"
    notes.write_text("not a video")
    with pytest.raises(InvalidVideo, match="not a video"):
        video_duration(notes)
    sound = tmp_path / "sound.wav"
    with wave.open(str(sound), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(8000)
        handle.writeframes(b"\0\0" * 8000)
    with pytest.raises(InvalidVideo, match="no video track"):
        video_duration(sound)
