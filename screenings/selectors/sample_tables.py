"""The stored columns of the included samples as Arrow record batches, read column-wise.

For downloads that want every sample with its values exactly as stored (Parquet). PostgreSQL
hands over each participant's samples as whole columns (``_aggregated_batches``, on the
request's own connection, so in its transaction): no Python object per value. Other databases
(SQLite) return tuples through the cursor, turned into columns per batch; Python's sqlite3
module costs most of that time (it builds an object per value).
"""

from __future__ import annotations

import contextlib
import queue
import threading
import uuid
from collections.abc import Callable, Generator, Iterator
from typing import Any

from django.db import connection, transaction
from django.db.models import IntegerField
from django.db.models.functions import Cast

from inference import EMOTIONS
from screenings.models import Screening
from screenings.selectors.audience import Members, included_samples

# The columns read from the samples table, in this order.
STORED_COLUMNS = [
    "participant_id", "media_time", "face_found", *EMOTIONS, "dominant_emotion", "looking_at_screen",
    "model_version",
]  # fmt: skip
BOOLEAN_STORED = {"face_found", "looking_at_screen"}
FLOAT_STORED = ["media_time", *EMOTIONS]


def stored_types() -> dict[str, Any]:
    import pyarrow as pa

    text = {"dominant_emotion", "model_version"}
    types = {"participant_id": pa.int64(), "media_time": pa.float64()}
    for column in STORED_COLUMNS:
        if column not in types:
            types[column] = pa.bool_() if column in BOOLEAN_STORED else pa.string() if column in text else pa.float64()
    return types


def _query(screening: Screening, members: Members) -> tuple[str, tuple[Any, ...]]:
    samples = included_samples(screening, members=members)
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
# then face_found, then looking_at_screen true and looking_at_screen known; above them, the
# dominant emotion as a code (``DOMINANT_CODES``).
_FACE_BIT = len(EMOTIONS)
_LOOKING_BIT = _FACE_BIT + 1
_LOOKING_KNOWN_BIT = _FACE_BIT + 2
_DOMINANT_SHIFT = _FACE_BIT + 3
# The dominant emotions the flags can name, by code: an emotion or "" (no face). Any other stored
# text gets OTHER_DOMINANT and travels as itself, in a list of its own.
DOMINANT_CODES = [*EMOTIONS, ""]
OTHER_DOMINANT = 15


def _column_aggregates(versions: list[str]) -> tuple[list[str], list[Any]]:
    """Per participant, each stored column as one value: floats as their eight bytes each (``float8send``),
    a sample's NULLs, booleans and dominant emotion as the bits of two bytes, its model version as
    two bytes more (its place in ``versions``, -1 for another, sent as text in a list of its own);
    with the parameters the aggregates take.

    In no particular order: the rows are put in media time order afterwards (``_participant_columns``).
    """
    bits = [f"(CASE WHEN {emotion} IS NULL THEN {1 << bit} ELSE 0 END)" for bit, emotion in enumerate(EMOTIONS)]
    bits.append(f"(CASE WHEN face_found THEN {1 << _FACE_BIT} ELSE 0 END)")
    bits.append(f"(CASE WHEN looking_at_screen THEN {1 << _LOOKING_BIT} ELSE 0 END)")
    bits.append(f"(CASE WHEN looking_at_screen IS NULL THEN 0 ELSE {1 << _LOOKING_KNOWN_BIT} END)")
    codes = " ".join(f"WHEN %s THEN {code << _DOMINANT_SHIFT}" for code in range(len(DOMINANT_CODES)))
    bits.append(f"(CASE dominant_emotion {codes} ELSE {OTHER_DOMINANT << _DOMINANT_SHIFT} END)")
    parts = ["participant_id", "count(*)"]
    parts += [f"string_agg(float8send(coalesce({column}, 0)), '')" for column in FLOAT_STORED]
    parts.append(f"string_agg(int2send(({' + '.join(bits)})::smallint), '')")
    # Every aggregate of one GROUP BY reads the rows in the same order, so these line up with the flags.
    parts.append("coalesce(array_agg(dominant_emotion) FILTER (WHERE dominant_emotion <> ALL(%s::text[])), '{}')")
    cases = " ".join(f"WHEN %s THEN {code}" for code in range(len(versions)))
    parts.append(f"string_agg(int2send((CASE model_version {cases} ELSE -1 END)::smallint), '')" if versions
                 else "string_agg(int2send(-1::smallint), '')")  # fmt: skip
    parts.append("coalesce(array_agg(model_version) FILTER (WHERE model_version <> ALL(%s::text[])), '{}')")
    # In the order of their placeholders above.
    return parts, [*DOMINANT_CODES, list(DOMINANT_CODES), *versions, list(versions)]


def _participant_columns(row: tuple[Any, ...], versions: list[str]) -> dict[str, Any]:
    """One participant's aggregated row (``_column_aggregates``) as numpy arrays, in media time order."""
    import numpy as np

    participant, count, *rest = row
    columns: dict[str, Any] = {"participant_id": np.full(count, participant, dtype=np.int64)}
    for column, value in zip(FLOAT_STORED, rest, strict=False):
        columns[column] = np.frombuffer(value, dtype=">f8").astype(np.float64)
    flags, other_dominant, version_codes, other_versions = rest[len(FLOAT_STORED) :]
    flags = np.frombuffer(flags, dtype=">i2").astype(np.int32)
    for bit, emotion in enumerate(EMOTIONS):
        columns[f"{emotion} null"] = (flags & (1 << bit)) != 0
    columns["face_found"] = (flags & (1 << _FACE_BIT)) != 0
    columns["looking_at_screen"] = (flags & (1 << _LOOKING_BIT)) != 0
    columns["looking_at_screen null"] = (flags & (1 << _LOOKING_KNOWN_BIT)) == 0
    codes = flags >> _DOMINANT_SHIFT
    dominant = np.array([*DOMINANT_CODES, None], dtype=object)[np.minimum(codes, len(DOMINANT_CODES))]
    others = codes == OTHER_DOMINANT
    if others.any():
        dominant[others] = other_dominant
    columns["dominant_emotion"] = dominant
    version_codes = np.frombuffer(version_codes, dtype=">i2")
    model_versions = np.array([*versions, None], dtype=object)[version_codes]  # -1: the last, None
    if other_versions:
        model_versions[version_codes == -1] = other_versions
    columns["model_version"] = model_versions
    media_times = columns["media_time"]
    if count > 1 and not bool(np.all(media_times[1:] > media_times[:-1])):
        order = np.argsort(media_times, kind="stable")
        columns = {name: values[order] for name, values in columns.items()}
    return columns


def _table(parts: list[dict[str, Any]]) -> Any:
    import numpy as np
    import pyarrow as pa

    types = stored_types()
    joined = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    arrays = []
    for column, kind in types.items():
        mask = joined.get(f"{column} null")
        arrays.append(pa.array(joined[column], type=kind, mask=mask, from_pandas=False))
    return pa.Table.from_arrays(arrays, schema=pa.schema(list(types.items())))


# Rows looked at for the model versions to code (``_likely_versions``), and at most how many.
VERSION_GUESS_ROWS = 20_000
MAX_CODED_VERSIONS = 32


def _likely_versions(sql: str, params: tuple[Any, ...]) -> list[str]:
    """The model versions of the first samples: the ones worth a code (others are sent as text, so this
    only decides speed, never what is exported)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT model_version FROM (SELECT model_version FROM ({sql}) AS samples LIMIT "
            f"{VERSION_GUESS_ROWS}) AS first LIMIT {MAX_CODED_VERSIONS}",
            params,
        )
        return sorted(version for (version,) in cursor.fetchall())


def _aggregated_batches(sql: str, params: tuple[Any, ...], size: int) -> Iterator[Any]:
    """PostgreSQL: each participant's samples as one row of whole columns, read in binary.

    One value per column and participant crosses into Python, not one per sample, and floats
    travel as their eight bytes, so nothing is rounded or parsed. Participants are gathered until
    about ``size`` rows, so memory holds one batch (and one participant's samples) at a time.

    The database aggregates the next participants while this thread turns the last ones into
    columns and the caller writes them: a reader thread fetches (``_prefetched``).
    """
    versions = _likely_versions(sql, params)
    aggregates, aggregate_params = _column_aggregates(versions)
    grouped = f"SELECT {', '.join(aggregates)} FROM ({sql}) AS samples GROUP BY participant_id ORDER BY participant_id"
    connection.ensure_connection()
    # In a transaction, so the server-side cursor streams (outside one it would have to be held,
    # and a held cursor computes every row before the first is read).
    with (
        transaction.atomic(),
        connection.connection.cursor(name=f"stored_samples_{uuid.uuid4().hex}", binary=True) as cursor,
    ):
        cursor.execute(grouped, (*aggregate_params, *params))
        parts: list[dict[str, Any]] = []
        rows = 0
        # Closed before the cursor is, even when the download stops early: the reader has stopped by then.
        with contextlib.closing(_prefetched(lambda: cursor.fetchmany(8))) as fetched:
            for groups in fetched:
                for group in groups:
                    parts.append(_participant_columns(group, versions))
                    rows += group[1]
                    if rows >= size:
                        yield from _table(parts).to_batches(max_chunksize=size)
                        parts, rows = [], 0
        if parts:
            yield from _table(parts).to_batches(max_chunksize=size)


def _prefetched(fetch: Callable[[], list[Any]], *, ahead: int = 2) -> Generator[list[Any], None, None]:
    """``fetch()``'s results until an empty one, fetched in a thread of their own up to ``ahead`` in advance.

    Only that thread uses the cursor while this runs; it stops when the consumer does (the
    download closed early) and its error, if any, is raised here.
    """
    results: queue.Queue[Any] = queue.Queue(maxsize=ahead)
    stop = threading.Event()
    done = object()

    def read() -> None:
        try:
            while not stop.is_set():
                chunk = fetch()
                results.put(chunk if chunk else done)
                if not chunk:
                    return
        except BaseException as error:  # handed to the consumer, raised there
            results.put(error)

    reader = threading.Thread(target=read, name="sample-columns-reader", daemon=True)
    reader.start()
    try:
        while (chunk := results.get()) is not done:
            if isinstance(chunk, BaseException):
                raise chunk
            yield chunk
    finally:
        stop.set()
        while reader.is_alive():  # let a blocked put go through so the thread sees the stop
            with contextlib.suppress(queue.Empty):
                results.get(timeout=0.1)
        reader.join()


def _fetched_batches(sql: str, params: tuple[Any, ...], size: int) -> Iterator[Any]:
    """Any other database: ``size`` tuples at a time from the cursor, turned into typed columns."""
    import pyarrow as pa

    types = stored_types()
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
