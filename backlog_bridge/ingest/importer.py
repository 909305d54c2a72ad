"""Import parsed export files into the store, idempotently, quarantining what cannot be read.

Identity: a response is (source, response id). A file without ids gets a content-derived id, so
re-importing the same file adds nothing. A known id with different content is updated and the
change recorded. Counts always add up: read = new + updated + unchanged + quarantined.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Engine, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel import Session, col

from backlog_bridge.classify import categorise
from backlog_bridge.context import ProgressFactory, Reporter, no_progress
from backlog_bridge.errors import ConfigError, IngestError
from backlog_bridge.ingest.files import ParsedFile, RawRecord, file_sha256, read_export
from backlog_bridge.ingest.values import (
    RowError,
    clean_text,
    has_controls,
    looks_like_formula,
    parse_score,
    parse_timestamp,
    show_controls,
    storable,
    strip_controls,
)
from backlog_bridge.ingest.vendors import ColumnMap, apply_overrides
from backlog_bridge.settings import IngestSettings, SourceSettings
from backlog_bridge.store.tables import ImportBatch, QuarantinedRow, Response, ResponseChange, utcnow

log = logging.getLogger(__name__)

CANONICAL = ("score", "comment", "responded_at", "respondent_id", "account_id", "segments")
_CHUNK = 500
MAX_ID_CHARS = 200
"""Longest response id (the store's column)."""
MAX_PERSON_CHARS = 320
"""Longest respondent or account id (the store's columns; 320 fits any e-mail address)."""
MAX_SEGMENT_CHARS = 500
"""Segment values are cut to this length (they are labels, not text)."""


@dataclass(frozen=True)
class CanonicalRow:
    """A row that passed every check, ready for the store."""

    line: int
    external_id: str
    score: int
    comment: str | None
    responded_at: datetime
    respondent_id: str | None
    account_id: str | None
    segments: dict[str, Any]

    def snapshot(self) -> dict[str, Any]:
        """The content that identifies a version of this response (what a change compares)."""
        return {
            "score": self.score,
            "comment": self.comment,
            "responded_at": self.responded_at.isoformat(),
            "respondent_id": self.respondent_id,
            "account_id": self.account_id,
            "segments": self.segments,
        }

    def content_hash(self) -> str:
        """Fingerprint of `snapshot()`."""
        return _hash(self.snapshot())


@dataclass
class ImportResult:
    """What one file produced. `problems` lists (line, reason) of quarantined rows."""

    path: str
    source: str
    vendor: str = ""
    read: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    error: str | None = None
    notices: list[str] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)
    batch_id: int | None = None
    skipped: bool = False
    """Not read: the same content was imported before (inboxes skip files by content, not by name)."""

    @property
    def adds_up(self) -> bool:
        """The invariant every import keeps."""
        return self.read == self.new + self.updated + self.unchanged + self.quarantined


def import_paths(
    engine: Engine,
    paths: Iterable[Path],
    settings: IngestSettings,
    source: str | None = None,
    now: datetime | None = None,
    skip_imported: bool = False,
    progress: ProgressFactory = no_progress,
) -> list[ImportResult]:
    """Import each file (folders: every .csv/.json/.jsonl/.ndjson/.tsv/.txt inside, sorted).

    With `skip_imported`, a file whose exact content was already imported without error is not
    read again, whatever its name (a renamed or copied export changes nothing anyway). `progress`
    gets a reporter per file (see `import_file`).
    """
    results = []
    for file in expand_paths(paths):
        known = _imported_batch(engine, file) if skip_imported else None
        if known is not None:
            note = f"{file}: same content as batch {known} already imported; skipped"
            results.append(ImportResult(path=str(file), source=source or "", skipped=True, notices=[note]))
            continue
        results.append(import_file(engine, file, settings, source=source, now=now, progress=progress))
    return results


def _imported_batch(engine: Engine, path: Path) -> int | None:
    try:
        digest = file_sha256(path.read_bytes())
    except OSError:
        return None  # import_file reports the unreadable file
    query = select(col(ImportBatch.id)).where(
        col(ImportBatch.file_sha256) == digest,
        col(ImportBatch.error).is_(None),
        col(ImportBatch.finished_at).is_not(None),
    )
    with Session(engine) as session:
        found = session.scalars(query).first()
    return int(found) if found is not None else None


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files named, plus the export files inside folders named."""
    suffixes = {".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson"}
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in suffixes))
        else:
            files.append(path)
    return files


def import_file(
    engine: Engine,
    path: Path,
    settings: IngestSettings,
    source: str | None = None,
    now: datetime | None = None,
    progress: ProgressFactory = no_progress,
) -> ImportResult:
    """Import one file; a file-level failure is recorded on its batch and returned, not raised.

    Whatever the file holds, it either imports (bad rows quarantined) or fails alone with one reason:
    an unforeseen error while reading it is that file's error, never the run's.

    Args:
        engine: the store.
        path: the export file.
        settings: ingest settings (sources, limits).
        source: the source name; None = the survey tool recognised, else `settings.default_source`.
        now: the wall clock: rows dated after it are refused as misread (None = the clock's now).
        progress: makes the file's reporter ("importing NAME"), told (rows written, rows read)
            as the rows go into the store, the long part of a large file.
    """
    shown_path = printable_path(path)
    try:
        parsed = read_export(path, max_bytes=int(settings.max_file_mb * 1_000_000))
    except IngestError as error:
        return _failed(engine, ImportResult(shown_path, source or settings.default_source, error=error.reason), "")
    except (ValueError, OverflowError, RecursionError, MemoryError, LookupError, TypeError) as error:
        log.debug("ingest.file-unreadable", exc_info=True)
        reason = f"file could not be read ({type(error).__name__}); nothing imported from it"
        return _failed(engine, ImportResult(shown_path, source or settings.default_source, error=reason), "")
    source_name = source or (parsed.layout.vendor if parsed.layout.vendor != "generic" else None)
    source_name = source_name or settings.default_source
    result = ImportResult(path=shown_path, source=source_name, vendor=parsed.layout.vendor, notices=parsed.notices)
    try:
        rows, rejects = _canonical_rows(parsed, settings, settings.sources.get(source_name), now, result)
    except IngestError as error:
        result.error = error.reason
        return _failed(engine, result, parsed.sha256)
    except (ValueError, OverflowError, RecursionError, LookupError, TypeError) as error:
        log.debug("ingest.file-unreadable", exc_info=True)
        failed = ImportResult(shown_path, source_name, vendor=parsed.layout.vendor, notices=parsed.notices)
        failed.error = f"file could not be read ({type(error).__name__}); nothing imported from it"
        return _failed(engine, failed, parsed.sha256)
    try:
        _store(engine, parsed, result, rows, rejects, progress(f"importing {path.name}"))
    except (DataError, IntegrityError) as error:  # a value our checks missed: the file fails alone, unwritten
        log.debug("ingest.file-refused", exc_info=True)
        refused = ImportResult(shown_path, source_name, vendor=parsed.layout.vendor, notices=parsed.notices)
        refused.error = (
            f"the database refused this file's rows ({type(error.orig).__name__}); nothing from it was written"
        )
        return _failed(engine, refused, parsed.sha256)
    log.debug(
        "ingest.file-imported",
        extra={
            "path": str(path),
            "source": source_name,
            "read": result.read,
            "new": result.new,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "quarantined": result.quarantined,
        },
    )
    return result


def printable_path(path: Path) -> str:
    """The path as text any database takes: a file name's undecodable bytes become \ufffd.

    Other characters are kept as they are (a path cannot hold NUL; the output layer shows escapes).
    """
    return str(path).encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _failed(engine: Engine, result: ImportResult, sha256: str) -> ImportResult:
    result.error = storable(result.error or "")
    _record_failed_batch(engine, result, sha256)
    return result


def _record_failed_batch(engine: Engine, result: ImportResult, sha256: str) -> None:
    with Session(engine) as session:
        batch = ImportBatch(
            source=result.source,
            path=result.path,
            file_sha256=sha256,
            vendor=result.vendor,
            finished_at=utcnow(),
            error=result.error,
        )
        session.add(batch)
        session.commit()
        result.batch_id = batch.id


def _canonical_rows(
    parsed: ParsedFile,
    settings: IngestSettings,
    source: SourceSettings | None,
    now: datetime | None,
    result: ImportResult,
) -> tuple[list[CanonicalRow], list[tuple[RawRecord, str]]]:
    columns = _columns(parsed, source)
    zone = _zone(source)
    dayfirst = source.dayfirst if source and source.dayfirst is not None else parsed.layout.dayfirst
    if dayfirst is None and columns.responded_at:
        dayfirst = infer_dayfirst(r.values.get(columns.responded_at) for r in parsed.records)
    keep = set(source.segments) if source and source.segments is not None else None
    where = "record" if parsed.format == "json" else "line"
    rows: list[CanonicalRow] = []
    rejects: list[tuple[RawRecord, str]] = []
    seen: dict[str, CanonicalRow] = {}
    for record in parsed.records:
        result.read += 1
        if record.problem:
            rejects.append((record, record.problem))
            continue
        try:
            row = _canonical(record, columns, keep, dayfirst, zone, now, settings.max_comment_chars)
        except RowError as error:
            rejects.append((record, str(error)))
            continue
        except (ValueError, OverflowError, RecursionError, LookupError, TypeError) as error:  # a parser's gap
            rejects.append((record, f"unreadable value ({type(error).__name__})"))
            continue
        if row.comment and looks_like_formula(row.comment):
            note = "comment looks like spreadsheet formula text; kept as plain text"
            result.notices.append(f"{parsed.path}:{record.line}: {note}")
        earlier = seen.get(row.external_id)
        if earlier is None:
            seen[row.external_id] = row
            rows.append(row)
        elif earlier.content_hash() == row.content_hash():
            result.unchanged += 1
        else:
            reason = (
                f"duplicate response id {row.external_id!r}: {where} {earlier.line} of this file "
                "has the same id with different content"
            )
            rejects.append((record, reason))
    return rows, rejects


def _columns(parsed: ParsedFile, source: SourceSettings | None) -> ColumnMap:
    layout = parsed.layout
    if source and source.columns:
        try:
            layout = apply_overrides(layout, source.columns)
        except ValueError as error:
            raise ConfigError(f"settings: ingest.sources: {error}") from error
    columns = layout.columns
    known = set().union(*(r.values.keys() for r in parsed.records[:200])) if parsed.records else set()
    for name in ("score", "responded_at"):
        column = getattr(columns, name)
        if column is None or (known and column not in known):
            found = ", ".join(sorted(known)[:20]) or "none"
            raise IngestError(
                str(parsed.path),
                f"no {name} column found (columns: {found}); map one in settings.toml under "
                f'[ingest.sources.NAME] columns = {{ {name} = "Your column" }}',
            )
    return columns


def _zone(source: SourceSettings | None) -> tzinfo:
    if source is None or source.timezone == "UTC":
        return UTC
    try:
        return ZoneInfo(source.timezone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ConfigError(f"settings: ingest.sources timezone {source.timezone!r} is not a known zone") from error


def infer_dayfirst(values: Iterable[Any]) -> bool | None:
    """Day-first when some slashed date has a first part over 12, month-first when a second part does."""
    for value in values:
        text = str(value or "").strip()
        parts = text.replace(".", "/").split("/")
        day_or_month = [part for part in parts[:2] if part.isdecimal() and len(part) <= 2]  # int("²") fails
        if len(parts) >= 3 and len(day_or_month) == 2:
            if int(parts[0]) > 12:
                return True
            if int(parts[1]) > 12:
                return False
    return None


def _canonical(
    record: RawRecord,
    columns: ColumnMap,
    keep: set[str] | None,
    dayfirst: bool | None,
    zone: tzinfo,
    now: datetime | None,
    max_comment_chars: int,
) -> CanonicalRow:
    values = record.values
    score = parse_score(values.get(columns.score or ""))
    assert columns.responded_at is not None  # checked by _columns
    responded_at = parse_timestamp(values.get(columns.responded_at), dayfirst=dayfirst, default_tz=zone, now=now)
    comment = clean_text(values.get(columns.comment)) if columns.comment else None
    if comment and len(comment) > max_comment_chars:
        raise RowError(
            f"comment is {len(comment):,} characters, over the limit of {max_comment_chars:,} "
            "(ingest.max_comment_chars); kept here whole"
        )
    respondent = _identifier(values, columns.respondent_id, "respondent id", MAX_PERSON_CHARS)
    account = _identifier(values, columns.account_id, "account id", MAX_PERSON_CHARS)
    segments = _segments(values, columns, keep)
    external = _identifier(values, columns.response_id, "response id", MAX_ID_CHARS)
    if external is None:
        basis = {"respondent": respondent, "at": responded_at.isoformat(), "score": score, "comment": comment}
        external = "sha:" + _hash(basis)[:24]
    return CanonicalRow(record.line, external, score, comment, responded_at, respondent, account, segments)


def _identifier(values: Mapping[str, Any], column: str | None, what: str, limit: int) -> str | None:
    """An id cell, refused (not silently changed) when cleaning it would make it another id."""
    if column is None or values.get(column) is None:
        return None
    raw = values[column]
    if isinstance(raw, str) and has_controls(raw):
        raise RowError(f"{what} '{show_controls(raw[:60])}' holds control characters")
    text = clean_text(raw)
    if text is not None and len(text) > limit:
        raise RowError(f"{what} is {len(text):,} characters long (at most {limit})")
    return text


def _segment_value(value: Any) -> Any:
    if isinstance(value, bool) or (isinstance(value, int | float) and math.isfinite(value)):
        return value  # PostgreSQL's JSON has no NaN or Infinity: those stay text
    return strip_controls(str(value)).strip()[:MAX_SEGMENT_CHARS]


def _segments(values: Mapping[str, Any], columns: ColumnMap, keep: set[str] | None) -> dict[str, Any]:
    mapped = {
        columns.response_id,
        columns.score,
        columns.comment,
        columns.responded_at,
        columns.respondent_id,
        columns.account_id,
    }
    segments: dict[str, Any] = {}
    for name, value in values.items():
        if name in mapped or (keep is not None and name not in keep):
            continue
        if keep is None and name in columns.ignored:
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        segments[strip_controls(name)[:MAX_SEGMENT_CHARS]] = _segment_value(value)
    return segments


def _store(
    engine: Engine,
    parsed: ParsedFile,
    result: ImportResult,
    rows: Sequence[CanonicalRow],
    rejects: Sequence[tuple[RawRecord, str]],
    report: Reporter,
) -> None:
    """Write the file's rows in one transaction, flushed a chunk at a time so progress is real."""
    total = result.read
    report(0, total)
    with Session(engine) as session, session.begin():
        batch = ImportBatch(
            source=result.source,
            path=result.path,
            file_sha256=parsed.sha256,
            vendor=parsed.layout.vendor,
        )
        session.add(batch)
        session.flush()
        existing = _existing(session, result.source, [row.external_id for row in rows])
        for done, row in enumerate(rows, start=1):
            known = existing.get(row.external_id)
            if known is None:
                session.add(_new_response(row, result.source, batch.id))
                result.new += 1
            elif known.content_hash == row.content_hash():
                result.unchanged += 1
            else:
                _update(session, known, row, batch.id)
                result.updated += 1
            if done % _CHUNK == 0:
                session.flush()
                report(done, total)
        _quarantine(session, parsed, result, rejects, batch.id)
        _release(session, parsed.sha256, [row.line for row in rows])
        batch.rows_read, batch.rows_new, batch.rows_updated = result.read, result.new, result.updated
        batch.rows_unchanged, batch.rows_quarantined = result.unchanged, result.quarantined
        batch.finished_at = utcnow()
        session.flush()
        result.batch_id = batch.id
    report(total, total)


def _existing(session: Session, source: str, ids: Sequence[str]) -> dict[str, Response]:
    found: dict[str, Response] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        query = select(Response).where(col(Response.source) == source, col(Response.external_id).in_(chunk))
        for response in session.scalars(query):
            found[response.external_id] = response
    return found


def _new_response(row: CanonicalRow, source: str, batch_id: int | None) -> Response:
    return Response(
        source=source,
        external_id=row.external_id,
        score=row.score,
        category=categorise(row.score).value,
        comment=row.comment,
        responded_at=row.responded_at,
        respondent_id=row.respondent_id,
        account_id=row.account_id,
        segments=row.segments,
        content_hash=row.content_hash(),
        batch_id=batch_id,
    )


def _update(session: Session, response: Response, row: CanonicalRow, batch_id: int | None) -> None:
    before = _snapshot(response)
    after = row.snapshot()
    changed = {key for key in after if before.get(key) != after[key]}
    session.add(
        ResponseChange(
            response_id=response.id or 0,
            batch_id=batch_id,
            before={key: before.get(key) for key in changed},
            after={key: after[key] for key in changed},
        )
    )
    response.score = row.score
    response.category = categorise(row.score).value
    response.comment = row.comment
    response.responded_at = row.responded_at
    response.respondent_id = row.respondent_id
    response.account_id = row.account_id
    response.segments = row.segments
    response.content_hash = row.content_hash()
    response.batch_id = batch_id
    response.updated_at = utcnow()
    session.add(response)


def _snapshot(response: Response) -> dict[str, Any]:
    return {
        "score": response.score,
        "comment": response.comment,
        "responded_at": response.responded_at.astimezone(UTC).isoformat(),
        "respondent_id": response.respondent_id,
        "account_id": response.account_id,
        "segments": response.segments,
    }


def _quarantine(
    session: Session,
    parsed: ParsedFile,
    result: ImportResult,
    rejects: Sequence[tuple[RawRecord, str]],
    batch_id: int | None,
) -> None:
    already = set(
        session.scalars(select(col(QuarantinedRow.line)).where(col(QuarantinedRow.file_sha256) == parsed.sha256))
    )
    for record, reason in rejects:
        result.quarantined += 1
        result.problems.append((record.line, reason))
        if record.line in already:
            continue
        already.add(record.line)
        session.add(
            QuarantinedRow(
                batch_id=batch_id,
                source=result.source,
                path=result.path,
                file_sha256=parsed.sha256,
                line=record.line,
                reason=storable(reason),
                raw=storable(record.raw),
            )
        )


def _release(session: Session, sha256: str, lines: Sequence[int]) -> None:
    """Drop quarantine entries of rows that now import (e.g. after a settings fix)."""
    for start in range(0, len(lines), _CHUNK):
        chunk = lines[start : start + _CHUNK]
        stale = select(QuarantinedRow).where(
            col(QuarantinedRow.file_sha256) == sha256, col(QuarantinedRow.line).in_(chunk)
        )
        for row in session.scalars(stale):
            session.delete(row)


def _hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()
