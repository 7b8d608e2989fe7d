"""Every sample as Parquet: one line of pandas (``pandas.read_parquet``) loads it with its types.

Read from the participants' packed series (``selectors.series``: the stored values bit for bit,
built from the samples where missing or stale), a hundred participants at a time, written row
group by row group (``PARQUET_BATCH_ROWS`` rows) and sent as each group is written, so memory
holds a hundred participants' samples whatever the screening's size.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from inference import EMOTIONS
from screenings.models import Screening
from screenings.reports.exporters.base import Content, Exporter
from screenings.reports.exporters.rows import SAMPLE_COLUMNS, Audience
from screenings.reports.options import ReportOptions
from screenings.selectors import reports as selectors
from screenings.selectors.sample_tables import STORED_COLUMNS
from screenings.selectors.series import series_sample_batches

PARQUET_BATCH_ROWS = 65_536
DICTIONARY_COLUMNS = ["participant", "label", "external_id", "dominant_emotion", "scene", "model_version"]
# What pandas reads each column as, written into the file's pandas metadata: looking_at_screen
# keeps its unknowns as <NA> in a boolean column instead of becoming a column of objects.
PANDAS_TYPES = {
    "participant": "int64", "label": "str", "external_id": "str", "media_time": "float64", "face_found": "bool",
    **dict.fromkeys(EMOTIONS, "float64"), "dominant_emotion": "str", "looking_at_screen": "boolean",
    "scene": "str", "model_version": "str",
}  # fmt: skip


def sample_schema(segment_columns: list[str] | None = None) -> Any:
    """The Arrow schema of SAMPLE_COLUMNS and the segments' membership columns (booleans), with pandas metadata."""
    import pandas as pd
    import pyarrow as pa

    columns = {column: pd.Series(dtype=PANDAS_TYPES[column]) for column in SAMPLE_COLUMNS}
    columns |= {column: pd.Series(dtype="bool") for column in segment_columns or []}
    return pa.Schema.from_pandas(pd.DataFrame(columns), preserve_index=False)


class _Completion:
    """What a download adds to the stored columns: each participant's label and panel id, the scene
    of each sample's media time, and the saved segments' membership, computed column-wise."""

    def __init__(self, screening: Screening, audience: Audience) -> None:
        import numpy as np

        participants = selectors.included_participants(screening, members=audience.members)
        people = list(participants.values_list("pk", "label", "external_id"))
        self.ids = np.array([person[0] for person in people], dtype=np.int64)
        self.labels = [person[1] for person in people]
        self.external_ids = [person[2] for person in people]
        scenes = selectors.screening_scenes(screening)
        self.scenes = [(scene.start, scene.end) for scene in scenes]
        self.scene_labels = [scene.label for scene in scenes] + [""]
        self.memberships = [np.array(sorted(members), dtype=np.int64) for _, members in audience.memberships]

    def scene_index(self, media_times: Any) -> Any:
        """Per sample, the index of the first scene (by start) whose ``[start, end)`` holds it (past the last: none)."""
        import numpy as np

        index = np.full(len(media_times), len(self.scenes), dtype=np.int64)
        for position in range(len(self.scenes) - 1, -1, -1):  # the last write wins: the first scene by start
            start, end = self.scenes[position]
            index[(media_times >= start) & (media_times < end)] = position
        return index

    def batch(self, stored: Any, schema: Any) -> Any:
        """``stored`` (the STORED_COLUMNS of some samples) as a record batch of ``schema``."""
        import numpy as np
        import pyarrow as pa

        participant = stored.column("participant_id").to_numpy()
        person = np.searchsorted(self.ids, participant)
        media_times = stored.column("media_time").to_numpy()
        columns = {
            "participant": stored.column("participant_id"),
            "label": pa.array(self.labels, type=pa.string()).take(pa.array(person)),
            "external_id": pa.array(self.external_ids, type=pa.string()).take(pa.array(person)),
            **{name: stored.column(name) for name in STORED_COLUMNS if name != "participant_id"},
            "scene": pa.array(self.scene_labels, type=pa.string()).take(pa.array(self.scene_index(media_times))),
        }
        for field, members in zip(list(schema)[len(SAMPLE_COLUMNS) :], self.memberships, strict=True):
            columns[field.name] = pa.array(np.isin(participant, members))
        arrays = [columns[field.name].cast(field.type) for field in schema]
        return pa.RecordBatch.from_arrays(arrays, schema=schema)


class _ChunkSink:
    """A file for the Parquet writer that hands on what was written since the last ``take``.

    The writer records where each column chunk starts from ``tell``, so the position counts
    everything ever written, not what is still held.
    """

    closed = False

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._position = 0

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._chunks.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def parquet_stream(screening: Screening, audience: Audience) -> Iterator[bytes]:
    """The included samples of ``audience`` as a Parquet file, in the chunks it is written in."""
    import pyarrow.parquet as pq

    schema = sample_schema(audience.segment_columns())
    completion = _Completion(screening, audience)
    sink = _ChunkSink()
    # Dictionary pages only where values repeat (text, the participant): tried on the probabilities
    # they are thrown away after costing half the writing time.
    with pq.ParquetWriter(sink, schema, compression="zstd", use_dictionary=DICTIONARY_COLUMNS) as writer:
        for stored in series_sample_batches(screening, members=audience.members, size=PARQUET_BATCH_ROWS):
            writer.write_batch(completion.batch(stored, schema))
            yield sink.take()
    yield sink.take()


class SamplesParquetExporter(Exporter):
    """Every sample (of the chosen segment), one row each (``sample_columns``, typed), as Parquet; streamed.

    Text is exactly as typed (no spreadsheet apostrophe) and probabilities as stored (not rounded).
    """

    identifier = "samples-parquet"
    verbose_name = "Samples (Parquet)"

    def render(self, screening: Screening, options: ReportOptions) -> tuple[str, str, Content]:
        stream = parquet_stream(screening, Audience.of(screening, options))
        return f"{screening.slug}-samples.parquet", "application/vnd.apache.parquet", stream
