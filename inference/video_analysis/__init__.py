"""Video analysis: sample a video every N seconds, read every face, and write the results as files.

``analyze_video`` reads the video once, as a stream: a background thread demuxes and decodes a
bounded queue ahead while the caller's thread classifies the sampled frames, writes timeline
rows as it goes and (when asked) re-encodes every frame with the latest sample's faces drawn
on it. Memory stays flat whatever the video's length: at most 64 MB of decoded frames wait,
no row is held, and the table and plot are built from timeline.csv after the pass (holding
one dominant emotion, then seven means, per sampled time; and the probe keeps 8 bytes per
keyframe, to skip to them).

- ``probe``     is the file a video we can analyse, its facts and duration (``probe_video``, ``video_duration``)
- ``timeline``  sampled times, timeline.csv rows, the table and the plot
- ``frames``    the decoder thread and the annotated copy (PyAV)
- ``analysis``  ``analyze_video`` itself

Outputs (in ``out_dir``, which appears only when everything is written):

- ``timeline.csv``  one row per sampled time and face (a time without a face gets one empty row)
- ``table.csv``     the reference paper's "Table 1": one row per emotion, one column per sampled
  time, 1 where that emotion is the largest face's dominant one
- ``timeline.png``  the mean probability of each emotion over the faces, against time
- ``annotated.mp4`` every frame, boxes and labels drawn (H.264, yuv420p, faststart)
- ``summary.json``  what was read, how much, with which model, and a message for the organizer
"""

from inference.video_analysis.analysis import (
    NO_FACE_MESSAGE,
    VIDEO_SETTINGS,
    VideoAnalysis,
    analyze_video,
    check_out_dir,
)
from inference.video_analysis.frames import ENCODER_OPTIONS
from inference.video_analysis.probe import (
    DEFAULT_MAX_PIXELS_VIDEO,
    InvalidVideo,
    VideoInfo,
    probe_video,
    video_duration,
)
from inference.video_analysis.timeline import (
    MINIMUM_INTERVAL,
    TIMELINE_COLUMNS,
    TimelineRow,
    format_time,
    read_timeline,
    sample_times,
)

__all__ = [
    "DEFAULT_MAX_PIXELS_VIDEO",
    "ENCODER_OPTIONS",
    "MINIMUM_INTERVAL",
    "NO_FACE_MESSAGE",
    "TIMELINE_COLUMNS",
    "VIDEO_SETTINGS",
    "InvalidVideo",
    "TimelineRow",
    "VideoAnalysis",
    "VideoInfo",
    "analyze_video",
    "check_out_dir",
    "format_time",
    "probe_video",
    "read_timeline",
    "sample_times",
    "video_duration",
]
