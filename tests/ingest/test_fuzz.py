"""Property tests: whatever a cell or a file holds, parsers and readers answer or refuse with a reason.

Imports run on both databases (the engine fixture: SQLite and PostgreSQL), one store per test.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backlog_bridge.errors import IngestError
from backlog_bridge.ingest.files import read_export
from backlog_bridge.ingest.importer import import_file
from backlog_bridge.ingest.values import RowError, clean_text, parse_score, parse_timestamp
from backlog_bridge.settings import IngestSettings

NOW = datetime(2026, 11, 1, tzinfo=UTC)
CELLS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**60), max_value=10**60),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=200),
    st.from_regex(r"-?\d{1,30}(\.\d{1,5})?", fullmatch=True),
    st.from_regex(r"\d{1,2}[/.]\d{1,2}[/.]\d{2,4}( \d{1,2}:\d{2})?", fullmatch=True),
    st.from_regex(r"\d{1,2} (Jan|Mar|Dec|March|Foo) \d{1,5}( \d{1,2}:\d{2})?", fullmatch=True),
    st.lists(st.integers(), max_size=3),
)
SETTLE = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTLE
@given(CELLS)
def test_parse_score_answers_or_refuses(value):
    try:
        score = parse_score(value)
    except RowError as error:
        assert str(error)
    else:
        assert 0 <= score <= 10


@SETTLE
@given(CELLS, st.sampled_from([None, True, False]))
def test_parse_timestamp_answers_or_refuses(value, dayfirst):
    try:
        moment = parse_timestamp(value, dayfirst=dayfirst, now=NOW)
    except RowError as error:
        assert str(error)
    else:
        assert moment.tzinfo is not None and moment.year >= 1990 and moment <= NOW.replace(day=2)


@SETTLE
@given(CELLS)
def test_clean_text_leaves_nothing_a_database_refuses(value):
    try:
        text = clean_text(value)
    except RowError:
        return
    if text is not None:
        assert "\x00" not in text
        text.encode("utf-8")  # no lone surrogates


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30,
)


def _files():
    raw = st.binary(max_size=400).map(lambda data: (".csv", data))
    cell = st.one_of(st.text(max_size=15), st.sampled_from(["9", "2026-03-01", '"', "\x00", "\r\n", ""]))
    date_cell = st.one_of(
        cell,
        st.from_regex(r"[0-9²³٣߂]{1,2}[/.][0-9²³٣]{1,2}[/.][0-9]{2,4}( [0-9]{1,2}:[0-9]{2})?", fullmatch=True),
        st.from_regex(r"[0-9]{1,2} (Mar|March|Foo) [0-9]{1,5}", fullmatch=True),
    )
    row = st.tuples(cell, st.one_of(cell, st.integers(-5, 15).map(str)), date_cell, cell).map(list)
    ragged = st.lists(cell, max_size=6)
    csv_text = st.lists(st.one_of(row, ragged), max_size=6).map(
        lambda rows: (
            ".csv",
            ("id,score,date,comment\n" + "\n".join(",".join(r) for r in rows)).encode("utf-8", "surrogatepass"),
        )
    )
    json_doc = JSONISH.map(lambda doc: (".json", json.dumps(doc).encode()))
    records = st.lists(
        st.fixed_dictionaries({"score": JSONISH, "date": JSONISH}, optional={"id": JSONISH, "comment": JSONISH}),
        max_size=5,
    )
    json_records = records.map(lambda items: (".json", json.dumps(items).encode()))
    json_lines = records.map(lambda items: (".jsonl", "\n".join(json.dumps(i) for i in items).encode()))
    return st.one_of(raw, csv_text, json_doc, json_records, json_lines), csv_text


@pytest.mark.slow
@SETTLE
@given(_files()[0])
def test_readers_answer_or_refuse_the_whole_file(tmp_path_factory, file):
    suffix, data = file
    path = tmp_path_factory.mktemp("read") / f"export{suffix}"
    path.write_bytes(data)
    try:
        parsed = read_export(path)
    except IngestError as error:
        assert error.reason
    else:
        assert all(record.line >= 1 for record in parsed.records)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_files()[0])
def test_import_never_raises_and_counts_add_up(engine, tmp_path_factory, file):
    suffix, data = file
    path: Path = tmp_path_factory.mktemp("import") / f"export{suffix}"
    path.write_bytes(data)

    result = import_file(engine, path, IngestSettings(), now=NOW)

    assert result.error is not None or result.adds_up


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_files()[1])
def test_csv_import_never_raises_whatever_the_date_column_holds(engine, tmp_path_factory, file):
    suffix, data = file
    path: Path = tmp_path_factory.mktemp("csv") / f"export{suffix}"
    path.write_bytes(data)

    result = import_file(engine, path, IngestSettings(), now=NOW)

    assert result.error is not None or result.adds_up
