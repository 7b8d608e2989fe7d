"""Every sample as Parquet: one line of pandas (``pandas.read_parquet``) loads it with its types.

Written row group by row group as the database returns the rows, and sent as each group is
written, so memory holds one group (``PARQUET_BATCH_ROWS`` rows) whatever the screening's size.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from inference import EMOTIONS
from screenings.models import Screening
from screenings.reports.exporters.base import Content, Exporter
from screenings.reports.exporters.rows import SAMPLE_COLUMNS, Audience, sample_batches
from screenings.reports.options import ReportOptions

PARQUET_BATCH_ROWS = 65_536
# The database gives these as 0, 1 or NULL; Parquet holds them as (nullable) booleans.
BOOLEAN_COLUMNS = {"face_found", "looking_at_screen"}
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


def _record_batch(rows: list[tuple], schema: Any, booleans: set[str]) -> Any:
    import pyarrow as pa

    arrays = []
    for field, values in zip(schema, zip(*rows, strict=True), strict=True):
        if field.name in booleans:
            arrays.append(pa.array(values, type=pa.int8()).cast(pa.bool_()))
        else:
            arrays.append(pa.array(values, type=field.type))
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
    booleans = BOOLEAN_COLUMNS | set(audience.segment_columns())
    sink = _ChunkSink()
    with pq.ParquetWriter(sink, schema, compression="zstd") as writer:
        for rows in sample_batches(screening, audience=audience, size=PARQUET_BATCH_ROWS, for_spreadsheets=False):
            writer.write_batch(_record_batch(rows, schema, booleans))
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
