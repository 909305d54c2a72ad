"""Read a survey export file (CSV, JSON, JSON Lines) into raw records with their line numbers.

Nothing here judges values: a structurally broken row (wrong field count, a JSON line that does
not parse) becomes a record with `problem` set, and the importer quarantines it. Only a file
that cannot be read at all (empty, binary, not JSON) raises `IngestError`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from charset_normalizer import from_bytes

from backlog_bridge.errors import IngestError
from backlog_bridge.ingest.vendors import Layout, flatten_json_record, json_records, recognise_header

CSV_DELIMITERS = (",", ";", "\t", "|")
JSON_SUFFIXES = {".json"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
_MAX_FIELD = 256 * 1024 * 1024


@dataclass(frozen=True)
class RawRecord:
    """One row of input: column -> value, where it starts in the file, and its raw text."""

    line: int
    values: dict[str, Any]
    raw: str
    problem: str | None = None


@dataclass
class ParsedFile:
    """A file read into records, with what was detected and any notices for the user."""

    path: Path
    sha256: str
    format: str
    encoding: str
    layout: Layout
    records: list[RawRecord]
    notices: list[str] = field(default_factory=list)


def file_sha256(data: bytes) -> str:
    """Content fingerprint: the same bytes are the same import, whatever the file is called."""
    return hashlib.sha256(data).hexdigest()


def read_export(path: Path, max_bytes: int | None = None) -> ParsedFile:
    """Read one export file, choosing the parser by suffix (and content, for JSON Lines).

    Raises:
        IngestError: the file is missing, empty, binary, too large or not parseable at all.
    """
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise IngestError(str(path), f"file is {size / 1e6:.1f} MB, over the limit (ingest.max_file_mb)")
        data = path.read_bytes()
    except OSError as error:
        raise IngestError(str(path), f"cannot read file: {error.strerror or error}") from error
    digest = file_sha256(data)
    text, encoding, notices = decode(path, data)
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        layout, records = _read_json_lines(path, text)
        fmt = "jsonl"
    elif suffix in JSON_SUFFIXES or text.lstrip().startswith(("[", "{")):
        layout, records, fmt = _read_json(path, text)
    else:
        layout, records, csv_notices = _read_csv(path, text)
        notices.extend(csv_notices)
        fmt = "csv"
    return ParsedFile(path, digest, fmt, encoding, layout, records, notices)


def decode(path: Path, data: bytes) -> tuple[str, str, list[str]]:
    """Text of the file: UTF-8 (with or without BOM), UTF-16 with BOM, else the detected charset."""
    if not data.strip():
        raise IngestError(str(path), "file is empty")
    if data.startswith(b"PK\x03\x04"):
        raise IngestError(str(path), "this is a zip or Excel .xlsx file, not CSV/JSON: export it as CSV")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16", []
    if data.startswith(b"\xef\xbb\xbf"):
        return data.decode("utf-8-sig"), "utf-8-sig", []
    if b"\x00" in data[:4096]:
        raise IngestError(str(path), "file holds binary data (NUL bytes), not CSV or JSON text")
    try:
        return data.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError as error:
        try:  # Excel's "CSV" on Windows: by far the most common non-UTF-8 export
            return data.decode("cp1252"), "cp1252", [f"{path}: not UTF-8; read as Windows-1252 (cp1252)"]
        except UnicodeDecodeError:
            pass
        guess = from_bytes(data).best()
        if guess is None or guess.encoding is None:
            raise IngestError(str(path), f"file is not text in any known encoding ({error})") from error
        notice = f"{path}: not UTF-8; read as {guess.encoding} (check accented characters)"
        return str(guess), guess.encoding, [notice]


def sniff_delimiter(header_line: str) -> str:
    """The delimiter that splits the header line into the most fields (comma on a tie)."""
    counts = {delimiter: _split_count(header_line, delimiter) for delimiter in CSV_DELIMITERS}
    best = max(CSV_DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] > 1 else ","


def _split_count(line: str, delimiter: str) -> int:
    return len(next(csv.reader([line], delimiter=delimiter), []))


def _read_csv(path: Path, text: str) -> tuple[Layout, list[RawRecord], list[str]]:
    csv.field_size_limit(_MAX_FIELD)
    lines = io.StringIO(text, newline="").readlines()  # the same line breaks the csv module counts
    first = next((line for line in lines if line.strip()), "")
    delimiter = sniff_delimiter(first)
    rows = list(_csv_rows(text, delimiter))
    if not rows:
        raise IngestError(str(path), "file has no header row")
    header_line, header = rows[0][0], _unique_names(rows[0][2])
    layout = recognise_header(header, [row[2] for row in rows[1:4]])
    notices: list[str] = []
    body = _split_runaway_quotes(rows[1 + layout.skip_rows :], lines, delimiter, len(header), path, notices)
    records = [_csv_record(lines, start, end, cells, header) for start, end, cells in body]
    if not records:
        notices.append(f"{path}: header only, no data rows (header on line {header_line})")
    return layout, records, notices


def _csv_rows(text: str, delimiter: str) -> Iterator[tuple[int, int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield start, reader.line_num, [f"\x00csv-error: {error}"]
            continue
        if cells and any(cell.strip() for cell in cells):
            yield start, reader.line_num, cells


def _split_runaway_quotes(
    rows: list[tuple[int, int, list[str]]],
    lines: Sequence[str],
    delimiter: str,
    width: int,
    path: Path,
    notices: list[str],
) -> list[tuple[int, int, list[str]]]:
    """Re-read line by line a multi-line record with the wrong field count or an unclosed quote.

    A stray opening quote makes the csv module swallow every following line into one field;
    reading those lines one by one confines the damage to the line with the stray quote.
    """
    out: list[tuple[int, int, list[str]]] = []
    for start, end, cells in rows:
        unclosed = "".join(lines[start - 1 : end]).count('"') % 2 == 1
        if end == start or (len(cells) == width and not unclosed):
            out.append((start, end, cells))
            continue
        notices.append(f"{path}:{start}: a quote opened here never closes; lines {start}-{end} read one by one")
        for number in range(start, end + 1):
            line = lines[number - 1]
            if line.strip():
                out.append((number, number, next(csv.reader([line], delimiter=delimiter, strict=False), [])))
    return out


def _csv_record(lines: Sequence[str], start: int, end: int, cells: list[str], header: list[str]) -> RawRecord:
    raw = "".join(lines[start - 1 : end]).rstrip("\r\n")
    if cells and cells[0].startswith("\x00csv-error: "):
        return RawRecord(start, {}, raw, f"malformed CSV: {cells[0].removeprefix(chr(0) + 'csv-error: ')}")
    while len(cells) > len(header) and not cells[-1].strip():
        cells = cells[:-1]
    if len(cells) != len(header):
        problem = (
            f"expected {len(header)} fields, found {len(cells)} "
            "(wrong delimiter, an unquoted line break or a stray quote?)"
        )
        return RawRecord(start, {}, raw, problem)
    return RawRecord(start, dict(zip(header, (cell.strip() for cell in cells), strict=True)), raw)


def _unique_names(header: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    names = []
    for index, cell in enumerate(header):
        name = cell.strip().lstrip("\ufeff") or f"column_{index + 1}"
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return names


def _read_json(path: Path, text: str) -> tuple[Layout, list[RawRecord], str]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        if _looks_like_json_lines(text):
            layout, records = _read_json_lines(path, text)
            return layout, records, "jsonl"
        raise IngestError(
            str(path), f"not valid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None
    items = json_records(document)
    if items is None:
        raise IngestError(
            str(path),
            "no list of responses found (expected a list, or one under items/responses/data/results)",
        )
    records = [_json_record(index + 1, item) for index, item in enumerate(items)]
    return _json_layout(records), records, "json"


def _looks_like_json_lines(text: str) -> bool:
    lines = [line for line in text.splitlines() if line.strip()]
    return len(lines) > 1 and all(line.lstrip().startswith("{") for line in lines[:5])


def _read_json_lines(path: Path, text: str) -> tuple[Layout, list[RawRecord]]:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            records.append(RawRecord(number, {}, line, f"not valid JSON: {error.msg} at column {error.colno}"))
            continue
        records.append(_json_record(number, item, line))
    if not records:
        raise IngestError(str(path), "file has no JSON lines")
    return _json_layout(records), records


def _json_record(number: int, item: Any, raw: str | None = None) -> RawRecord:
    text = raw if raw is not None else json.dumps(item, ensure_ascii=False, default=str)
    if not isinstance(item, dict):
        return RawRecord(number, {}, text, f"expected a JSON object, found {type(item).__name__}")
    return RawRecord(number, flatten_json_record(item), text)


def _json_layout(records: Sequence[RawRecord]) -> Layout:
    keys: dict[str, None] = {}
    for record in records[:200]:
        keys.update(dict.fromkeys(record.values))
    return recognise_header(list(keys))
