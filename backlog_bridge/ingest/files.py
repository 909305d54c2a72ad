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
import re
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
MAX_JSON_DEPTH = 64
"""Deeper JSON nesting is cut out and its record quarantined (Python's parser would hit its recursion limit)."""
MAX_JSON_INT_DIGITS = 40
"""JSON integers longer than this are kept as text (Python refuses ints over 4,300 digits; none is a score)."""
_TOO_DEEP = "\x00backlog-bridge:nested-too-deep"
_JSON_TOKENS = re.compile(r'"(?:[^"\\]++|\\.)*+"|[\[\]{}]')


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
    if path.exists() and not path.is_file():  # reading a pipe or a device would block or never end
        raise IngestError(str(path), "not a regular file (a folder, pipe or device): name an export file")
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
    """Text of the file: UTF-8 (with or without BOM), UTF-16 with BOM, else the detected charset.

    A file that is mostly UTF-8 with some lines in another charset (two exports pasted together) is
    decoded line by line: UTF-8 where it is, the other charset elsewhere, and a notice names the lines.
    """
    if not data.strip():
        raise IngestError(str(path), "file is empty")
    if data.startswith(b"PK\x03\x04"):
        raise IngestError(str(path), "this is a zip or Excel .xlsx file, not CSV/JSON: export it as CSV")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16", []
        except UnicodeDecodeError as error:
            notice = f"{path}: broken UTF-16 ({error.reason}); unreadable characters replaced with \ufffd"
            return data.decode("utf-16", errors="replace"), "utf-16", [notice]
    if _looks_binary(data[:4096]):
        raise IngestError(str(path), "file holds binary data (NUL bytes), not CSV or JSON text")
    bom = data.startswith(b"\xef\xbb\xbf")
    body = data[3:] if bom else data
    name = "utf-8-sig" if bom else "utf-8"
    try:
        return body.decode("utf-8"), name, []
    except UnicodeDecodeError:
        pass
    lines = body.splitlines(keepends=True)
    foreign = [number for number, line in enumerate(lines, start=1) if not _is_utf8(line)]
    foreign_lines = set(foreign)
    fallback = _fallback_encoding(b"".join(lines[number - 1] for number in foreign))
    if len(foreign) == len(lines) and not bom:  # the whole file is in another charset
        notice = f"{path}: not UTF-8; read as {_describe(fallback)}"
        return body.decode(fallback, errors="replace"), fallback, [notice]
    text = "".join(
        line.decode(fallback, errors="replace") if number in foreign_lines else line.decode("utf-8")
        for number, line in enumerate(lines, start=1)
    )
    shown = ", ".join(str(number) for number in foreign[:10]) + (" …" if len(foreign) > 10 else "")
    notice = f"{path}: mixed encodings; line(s) {shown} are not UTF-8 and were read as {_describe(fallback)}"
    return text, f"{name}+{fallback}", [notice]


def _looks_binary(head: bytes) -> bool:
    """Many NUL or other control bytes: binary (or UTF-16 without a BOM). A stray one is its row's problem."""
    controls = sum(head.count(byte) for byte in _CONTROL_BYTES)
    return head.count(b"\x00") > max(8, len(head) // 100) or controls > max(32, len(head) // 10)


_CONTROL_BYTES = [bytes([code]) for code in (*range(0, 9), *range(14, 32))]


def _is_utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _fallback_encoding(foreign: bytes) -> str:
    """Windows-1252 (Excel's "CSV" on Windows, by far the most common), else the detected charset."""
    try:
        foreign.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        pass
    guess = from_bytes(foreign).best()
    return guess.encoding if guess is not None and guess.encoding else "latin-1"


def _describe(encoding: str) -> str:
    return "Windows-1252 (cp1252)" if encoding == "cp1252" else f"{encoding} (check accented characters)"


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


def loads_bounded(text: str) -> Any:
    """json.loads that cannot overflow: nesting past MAX_JSON_DEPTH becomes a marker, huge ints text.

    The marker makes the record holding it a quarantined one (see `_json_record`); the rest of the
    file still imports. Raises json.JSONDecodeError like json.loads.
    """
    try:
        return json.loads(text, parse_int=_bounded_int)
    except RecursionError:  # the parser gave up cleanly; parse again without the deep parts
        return json.loads(_cut_deep(text), parse_int=_bounded_int)


def _bounded_int(digits: str) -> int | str:
    return int(digits) if len(digits.lstrip("-")) <= MAX_JSON_INT_DIGITS else digits


def _cut_deep(text: str) -> str:
    """Text with each array/object nested deeper than MAX_JSON_DEPTH replaced by a marker string."""
    depth, cut_from, pieces, kept_to = 0, -1, [], 0
    for token in _JSON_TOKENS.finditer(text):
        char = token.group()[0]
        if char in "[{":
            depth += 1
            if depth == MAX_JSON_DEPTH + 1:
                cut_from = token.start()
        elif char in "]}":
            depth -= 1
            if depth == MAX_JSON_DEPTH and cut_from >= 0:
                pieces += [text[kept_to:cut_from], json.dumps(_TOO_DEEP)]
                kept_to, cut_from = token.end(), -1
    if cut_from >= 0:  # never closed: the JSON is broken anyway, and json.loads says so
        pieces += [text[kept_to:cut_from], json.dumps(_TOO_DEEP)]
        return "".join(pieces)
    return "".join([*pieces, text[kept_to:]])


def _read_json(path: Path, text: str) -> tuple[Layout, list[RawRecord], str]:
    try:
        document = loads_bounded(text)
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
            item = loads_bounded(line)
        except json.JSONDecodeError as error:
            records.append(RawRecord(number, {}, line, f"not valid JSON: {error.msg} at column {error.colno}"))
            continue
        records.append(_json_record(number, item, line))
    if not records:
        raise IngestError(str(path), "file has no JSON lines")
    return _json_layout(records), records


def _json_record(number: int, item: Any, raw: str | None = None) -> RawRecord:
    if _too_deep(item):  # checked first: serialising or flattening it would recurse as deep
        shown = raw if raw is not None else "(a JSON record nested too deep to show)"
        return RawRecord(number, {}, shown, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    text = raw if raw is not None else json.dumps(item, ensure_ascii=False, default=str)
    if not isinstance(item, dict):
        return RawRecord(number, {}, text, f"expected a JSON object, found {type(item).__name__}")
    return RawRecord(number, flatten_json_record(item), text)


def _too_deep(item: Any) -> bool:
    """Nesting past MAX_JSON_DEPTH, or a part `_cut_deep` replaced; walked without recursion."""
    stack: list[tuple[Any, int]] = [(item, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > MAX_JSON_DEPTH:
                return True
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
        elif node == _TOO_DEEP:
            return True
    return False


def _json_layout(records: Sequence[RawRecord]) -> Layout:
    keys: dict[str, None] = {}
    for record in records[:200]:
        keys.update(dict.fromkeys(record.values))
    return recognise_header(list(keys))
