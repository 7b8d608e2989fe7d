"""The stored columns of the included samples as Arrow record batches, read column-wise.

For downloads that want every sample with its values exactly as stored (Parquet). PostgreSQL
hands over each participant's samples as whole columns (``_aggregated_batches``, on the
request's own connection, so in its transaction): no Python object per value. Other databases
(SQLite) return tuples through the cursor, turned into columns per batch; Python's sqlite3
module costs most of that time (it builds an object per value).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from django.db import connection
from django.db.models import IntegerField
from django.db.models.functions import Cast

from inference import EMOTIONS
from screenings.models import Screening
from screenings.selectors import reports as selectors
from screenings.selectors.reports import Members

# The columns read from the samples table, in this order.
STORED_COLUMNS = [
    "participant_id", "media_time", "face_found", *EMOTIONS, "dominant_emotion", "looking_at_screen",
    "model_version",
]  # fmt: skip
BOOLEAN_STORED = {"face_found", "looking_at_screen"}
FLOAT_STORED = ["media_time", *EMOTIONS]


def _stored_types() -> dict[str, Any]:
    import pyarrow as pa

    text = {"dominant_emotion", "model_version"}
    types = {"participant_id": pa.int64(), "media_time": pa.float64()}
    for column in STORED_COLUMNS:
        if column not in types:
            types[column] = pa.bool_() if column in BOOLEAN_STORED else pa.string() if column in text else pa.float64()
    return types


def _query(screening: Screening, members: Members) -> tuple[str, tuple[Any, ...]]:
    samples = selectors.included_samples(screening, members=members)
    if connection.vendor == "postgresql":  # grouped by participant and put in order in numpy
        return samples.values_list(*STORED_COLUMNS).order_by().query.sql_with_params()
    # Booleans as integers: no converter called per value.
    columns = [Cast(column, IntegerField()) if column in BOOLEAN_STORED else column for column in STORED_COLUMNS]
    return samples.values_list(*columns).order_by("participant_id", "media_time").query.sql_with_params()


def stored_sample_batches(screening: Screening, *, members: Members = None, size: int) -> Iterator[Any]:
    """The included samples' STORED_COLUMNS as ``pyarrow.RecordBatch``es of at most about ``size`` rows,
    ordered by participant and media time; NULL stays null (a sample without a face has no probabilities).
    """
    sql, params = _query(screening, members)
    if connection.vendor == "postgresql":
        yield from _aggregated_batches(sql, params, size)
    else:
        yield from _fetched_batches(sql, params, size)


# Bits of the flags every sample gets (``_column_aggregates``): one per probability that is NULL,
# then face_found, then looking_at_screen true and looking_at_screen known.
_FACE_BIT = len(EMOTIONS)
_LOOKING_BIT = _FACE_BIT + 1
_LOOKING_KNOWN_BIT = _FACE_BIT + 2


def _column_aggregates() -> list[str]:
    """Per participant, each stored column as one value: floats as their eight bytes each (``float8send``),
    a sample's NULLs and booleans as the bits of two bytes, text as an array.

    In no particular order: the rows are put in media time order afterwards (``_participant_columns``).
    """
    bits = [f"(CASE WHEN {emotion} IS NULL THEN {1 << bit} ELSE 0 END)" for bit, emotion in enumerate(EMOTIONS)]
    bits.append(f"(CASE WHEN face_found THEN {1 << _FACE_BIT} ELSE 0 END)")
    bits.append(f"(CASE WHEN looking_at_screen THEN {1 << _LOOKING_BIT} ELSE 0 END)")
    bits.append(f"(CASE WHEN looking_at_screen IS NULL THEN 0 ELSE {1 << _LOOKING_KNOWN_BIT} END)")
    parts = ["participant_id", "count(*)"]
    parts += [f"string_agg(float8send(coalesce({column}, 0)), '')" for column in FLOAT_STORED]
    parts.append(f"string_agg(int2send(({' + '.join(bits)})::smallint), '')")
    parts += ["array_agg(dominant_emotion)", "array_agg(model_version)"]
    return parts


def _participant_columns(row: tuple[Any, ...]) -> dict[str, Any]:
    """One participant's aggregated row (``_column_aggregates``) as numpy arrays, in media time order."""
    import numpy as np

    participant, count, *rest = row
    columns: dict[str, Any] = {"participant_id": np.full(count, participant, dtype=np.int64)}
    for column, value in zip(FLOAT_STORED, rest, strict=False):
        columns[column] = np.frombuffer(value, dtype=">f8").astype(np.float64)
    flags, dominant, versions = rest[len(FLOAT_STORED) :]
    flags = np.frombuffer(flags, dtype=">i2")
    for bit, emotion in enumerate(EMOTIONS):
        columns[f"{emotion} null"] = (flags & (1 << bit)) != 0
    columns["face_found"] = (flags & (1 << _FACE_BIT)) != 0
    columns["looking_at_screen"] = (flags & (1 << _LOOKING_BIT)) != 0
    columns["looking_at_screen null"] = (flags & (1 << _LOOKING_KNOWN_BIT)) == 0
    columns["dominant_emotion"] = np.array(dominant, dtype=object)
    columns["model_version"] = np.array(versions, dtype=object)
    media_times = columns["media_time"]
    if count > 1 and not bool(np.all(media_times[1:] > media_times[:-1])):
        order = np.argsort(media_times, kind="stable")
        columns = {name: values[order] for name, values in columns.items()}
    return columns


def _table(parts: list[dict[str, Any]]) -> Any:
    import numpy as np
    import pyarrow as pa

    types = _stored_types()
    joined = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    arrays = []
    for column, kind in types.items():
        mask = joined.get(f"{column} null")
        arrays.append(pa.array(joined[column], type=kind, mask=mask, from_pandas=False))
    return pa.Table.from_arrays(arrays, schema=pa.schema(list(types.items())))


def _aggregated_batches(sql: str, params: tuple[Any, ...], size: int) -> Iterator[Any]:
    """PostgreSQL: each participant's samples as one row of whole columns, read in binary.

    One value per column and participant crosses into Python, not one per sample, and floats
    travel as their eight bytes, so nothing is rounded or parsed. Participants are gathered until
    about ``size`` rows, so memory holds one batch (and one participant's samples) at a time.
    """
    columns = ", ".join(_column_aggregates())
    grouped = f"SELECT {columns} FROM ({sql}) AS samples GROUP BY participant_id ORDER BY participant_id"
    connection.ensure_connection()
    with connection.connection.cursor(
        name=f"stored_samples_{uuid.uuid4().hex}", binary=True, withhold=connection.get_autocommit()
    ) as cursor:
        cursor.execute(grouped, params)
        parts: list[dict[str, Any]] = []
        rows = 0
        while groups := cursor.fetchmany(16):
            for group in groups:
                parts.append(_participant_columns(group))
                rows += group[1]
                if rows >= size:
                    yield from _table(parts).to_batches(max_chunksize=size)
                    parts, rows = [], 0
        if parts:
            yield from _table(parts).to_batches(max_chunksize=size)


def _fetched_batches(sql: str, params: tuple[Any, ...], size: int) -> Iterator[Any]:
    """Any other database: ``size`` tuples at a time from the cursor, turned into typed columns."""
    import pyarrow as pa

    types = _stored_types()
    schema = pa.schema(list(types.items()))
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(size):
            arrays = []
            for (column, kind), values in zip(types.items(), zip(*rows, strict=True), strict=True):
                if column in BOOLEAN_STORED:  # 0, 1 or NULL
                    arrays.append(pa.array(values).cast(pa.bool_()))
                else:
                    arrays.append(pa.array(values, type=kind))
            yield pa.RecordBatch.from_arrays(arrays, schema=schema)
