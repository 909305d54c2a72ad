"""Import through the real store (SQLite and PostgreSQL), including a corpus of malformed input."""

from __future__ import annotations

import functools
import itertools
import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from backlog_bridge import output
from backlog_bridge.ingest.importer import ImportResult, import_file
from backlog_bridge.settings import IngestSettings, SourceSettings
from backlog_bridge.store.tables import ImportBatch, QuarantinedRow, Response, ResponseChange

NOW = datetime(2026, 11, 1, tzinfo=UTC)
HEADER = "response_id,responded_at,score,comment,account_id,plan\n"
GOOD = (
    "R1,2026-03-01T10:00:00Z,9,Love the kanban view,acme,Pro\n"
    "R2,2026-03-02T11:00:00Z,3,The mobile app crashes all the time,globex,Free\n"
    "R3,2026-03-03T12:00:00Z,7,,initech,Pro\n"
)


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return path


def run_import(engine, path: Path, settings: IngestSettings | None = None, source: str | None = None):
    result = import_file(engine, path, settings or IngestSettings(), source=source, now=NOW)
    assert result.adds_up, result
    return result


def responses(engine) -> list[Response]:
    with Session(engine) as session:
        return list(session.exec(select(Response).order_by(Response.external_id)))


def test_import_then_reimport_adds_nothing(engine, tmp_path):
    path = write(tmp_path, "export.csv", HEADER + GOOD)
    first = run_import(engine, path)
    assert (first.read, first.new, first.unchanged, first.quarantined) == (3, 3, 0, 0)
    second = run_import(engine, path)
    assert (second.read, second.new, second.updated, second.unchanged) == (3, 0, 0, 3)
    stored = responses(engine)
    assert [r.external_id for r in stored] == ["R1", "R2", "R3"]
    r1 = stored[0]
    assert (r1.score, r1.category, r1.comment, r1.account_id) == (
        9,
        "promoter",
        "Love the kanban view",
        "acme",
    )
    assert r1.segments == {"plan": "Pro"}
    assert r1.responded_at == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert stored[2].comment is None and stored[2].category == "passive"


def test_changed_content_updates_and_records_the_change(engine, tmp_path):
    run_import(engine, write(tmp_path, "a.csv", HEADER + GOOD))
    changed = GOOD.replace("R2,2026-03-02T11:00:00Z,3,", "R2,2026-03-02T11:00:00Z,5,")
    result = run_import(engine, write(tmp_path, "b.csv", HEADER + changed))
    assert (result.new, result.updated, result.unchanged) == (0, 1, 2)
    with Session(engine) as session:
        change = session.exec(select(ResponseChange)).one()
        assert change.before == {"score": 3} and change.after == {"score": 5}
        r2 = session.exec(select(Response).where(Response.external_id == "R2")).one()
        assert r2.score == 5


def test_file_without_ids_is_still_idempotent(engine, tmp_path):
    content = "date,score,comment\n2026-03-01,9,great\n2026-03-02,2,too slow\n"
    path = write(tmp_path, "noid.csv", content)
    assert run_import(engine, path).new == 2
    assert run_import(engine, path).unchanged == 2
    assert all(r.external_id.startswith("sha:") for r in responses(engine))


def test_same_id_in_another_source_is_another_response(engine, tmp_path):
    path = write(tmp_path, "export.csv", HEADER + GOOD)
    run_import(engine, path, source="web")
    assert run_import(engine, path, source="email").new == 3
    assert len(responses(engine)) == 6


def test_column_mapping_from_settings(engine, tmp_path):
    content = "Ticket,Wann,How happy (0-10)?,Freitext\nT1,2026-04-01,8,ok-ish\n"
    settings = IngestSettings(
        sources={"support": SourceSettings(columns={"response_id": "Ticket", "responded_at": "Wann",
                                                    "score": "How happy (0-10)?", "comment": "Freitext"})}
    )  # fmt: skip
    result = run_import(engine, write(tmp_path, "s.csv", content), settings, source="support")
    assert result.new == 1
    assert responses(engine)[0].external_id == "T1"


def test_segment_whitelist(engine, tmp_path):
    settings = IngestSettings(sources={"web": SourceSettings(segments=["plan"])})
    content = "id,date,score,plan,region,ip address\nA,2026-04-01,8,Pro,EU,1.2.3.4\n"
    run_import(engine, write(tmp_path, "w.csv", content), settings, source="web")
    assert responses(engine)[0].segments == {"plan": "Pro"}


def test_quarantined_row_is_released_when_it_later_imports(engine, tmp_path):
    content = HEADER + "R9,2026-03-01T10:00:00Z,9," + "x" * 50 + ",acme,Pro\n"
    path = write(tmp_path, "long.csv", content)
    strict = IngestSettings(max_comment_chars=10)
    assert run_import(engine, path, strict).quarantined == 1
    assert run_import(engine, path, strict).quarantined == 1
    with Session(engine) as session:
        assert len(session.exec(select(QuarantinedRow)).all()) == 1  # not duplicated on re-import
    assert run_import(engine, path, IngestSettings(max_comment_chars=100)).new == 1
    with Session(engine) as session:
        assert session.exec(select(QuarantinedRow)).all() == []


# --- the malformed-input corpus -------------------------------------------------------------

LONG = "slow " * 210_000  # about 1 MB


CORPUS: dict[str, tuple[str, bytes | str, dict[str, int], str | None]] = {
    # name: (file name, content, expected counts, expected message fragment)
    "not utf-8 (latin-1)": ("latin1.csv", (HEADER + "R1,2026-03-01,4,Très lent à charger,acme,Pro\n").encode("latin-1"),
                            {"read": 1, "new": 1}, "not UTF-8"),
    "empty file": ("empty.csv", b"", {"read": 0}, "file is empty"),
    "whitespace only": ("blank.csv", b"  \n\n \n", {"read": 0}, "file is empty"),
    "header only": ("header.csv", HEADER, {"read": 0}, "header only"),
    "wrong delimiter in rows": ("wrongdelim.csv", "response_id;responded_at;score;comment\nR1,2026-03-01,9,great\n",
                                {"read": 1, "quarantined": 1}, "expected 4 fields, found 1"),
    "semicolons and comma decimals": ("semi.csv", "id;date;score;comment\nR1;01.03.2026;9,0;gut\nR2;15.03.2026;6;zu teuer\n",
                                      {"read": 2, "new": 2}, None),
    "utf-8 bom": ("bom.csv", "\ufeff" + HEADER + GOOD, {"read": 3, "new": 3}, None),
    "utf-16": ("utf16.csv", (HEADER + GOOD).encode("utf-16"), {"read": 3, "new": 3}, None),
    "crlf line endings": ("crlf.csv", (HEADER + GOOD).replace("\n", "\r\n"), {"read": 3, "new": 3}, None),
    "excel serial dates": ("excel.csv", "id,date,score\nR1,46085,9\nR2,46085.75,3\n", {"read": 2, "new": 2}, None),
    "scores as labels": ("labels.csv", "id,date,score\nR1,2026-03-01,10 - Extremely likely\nR2,2026-03-01,0 - Not at all likely\n",
                         {"read": 2, "new": 2}, None),
    "formula in comment": ("formula.csv", 'id,date,score,comment\nR1,2026-03-01,2,"=HYPERLINK(""http://evil.test"",""click"")"\n',
                           {"read": 1, "new": 1}, "formula"),
    "formula as score": ("formula_score.csv", 'id,date,score\nR1,2026-03-01,"=HYPERLINK(""x"",""9"")"\n',
                         {"read": 1, "quarantined": 1}, "formula text"),
    "one megabyte comment": ("huge.csv", f"id,date,score,comment\nR1,2026-03-01,3,{LONG}\nR2,2026-03-01,9,fine\n",
                             {"read": 2, "new": 1, "quarantined": 1}, "over the limit"),
    "duplicate ids in one file": ("dupes.csv", "id,date,score\nR1,2026-03-01,9\nR1,2026-03-01,9\nR1,2026-03-02,2\n",
                                  {"read": 3, "new": 1, "unchanged": 1, "quarantined": 1}, "duplicate response id"),
    "scores out of range or words": ("badscores.csv", "id,date,score\nR1,2026-03-01,eleven\nR2,2026-03-01,11\nR3,2026-03-01,-1\nR4,2026-03-01,8\n",
                                     {"read": 4, "new": 1, "quarantined": 3}, "outside 0-10"),
    "missing and unparseable dates": ("baddates.csv", "id,date,score\nR1,,9\nR2,someday,9\nR3,2099-01-01,9\nR4,2026-02-30,9\nR5,2026-03-01,9\n",
                                      {"read": 5, "new": 1, "quarantined": 4}, "date is missing"),
    "ragged rows": ("ragged.csv", "id,date,score\nR1,2026-03-01,9,extra,fields\nR2,2026-03-01\nR3,2026-03-01,9,\n",
                    {"read": 3, "new": 1, "quarantined": 2}, "expected 3 fields"),
    "stray quote": ("quote.csv", 'id,date,score,comment\nR1,2026-03-01,3,"it breaks\nR2,2026-03-02,9,nice\nR3,2026-03-03,8,ok\n',
                    {"read": 3, "new": 3}, "never closes"),
    "binary data": ("binary.csv", b"\x00\x01\x02garbage\x00" * 50, {"read": 0}, "binary"),
    "excel workbook": ("book.csv", b"PK\x03\x04" + b"\x00" * 100, {"read": 0}, "Excel"),
    "no score column": ("noscore.csv", "id,date,text\nR1,2026-03-01,hello\n", {"read": 0}, "no score column"),
    "invalid json": ("bad.json", '[{"score": 9, "date": "2026-03-01"},\n {"score": }]', {"read": 0}, "not valid JSON at line 2"),
    "json items not objects": ("mixed.json", json.dumps([{"id": "A", "score": 9, "date": "2026-03-01"}, 42, "x"]),
                               {"read": 3, "new": 1, "quarantined": 2}, "expected a JSON object"),
    "json lines with a bad line": ("lines.jsonl", '{"id": "A", "score": 9, "date": "2026-03-01"}\n{oops\n\n{"id": "B", "score": 1, "date": "2026-03-02"}\n',
                                   {"read": 3, "new": 2, "quarantined": 1}, "not valid JSON"),
    "json without a list": ("obj.json", '{"survey": "q3"}', {"read": 0}, "no list of responses"),
    "nan and blank scores": ("nan.csv", "id,date,score\nR1,2026-03-01,NaN\nR2,2026-03-01,\nR3,2026-03-01,  \n",
                             {"read": 3, "quarantined": 3}, None),
    "blank lines between rows": ("gaps.csv", "id,date,score\n\nR1,2026-03-01,9\n\n\nR2,2026-03-01,5\n", {"read": 2, "new": 2}, None),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_malformed_corpus(engine, tmp_path, case):
    name, content, expected, message = CORPUS[case]
    result = run_import(engine, write(tmp_path, name, content))
    for key, value in expected.items():
        assert getattr(result, key) == value, (key, result)
    for key in {"new", "updated", "unchanged", "quarantined"} - set(expected):
        assert getattr(result, key) == 0, (key, result)
    if message:
        said = " ".join([result.error or "", *result.notices, *(reason for _, reason in result.problems)])
        assert message in said, said
    with Session(engine) as session:
        stored = len(session.exec(select(QuarantinedRow)).all())
        batch = session.exec(select(ImportBatch)).one()
    assert stored == result.quarantined
    assert (batch.error is None) == (result.error is None)


def test_latin1_text_is_decoded_correctly(engine, tmp_path):
    content = (HEADER + "R1,2026-03-01,4,Très lent à charger,acme,Pro\n").encode("latin-1")
    run_import(engine, write(tmp_path, "l.csv", content))
    assert responses(engine)[0].comment == "Très lent à charger"


def test_quarantine_keeps_file_line_and_raw_text(engine, tmp_path):
    content = 'id,date,score,comment\nR1,2026-03-01,9,ok\n\nR2,2026-03-01,eleven,"multi\nline"\nR3,2026-03-01,8,fine\n'
    path = write(tmp_path, "q.csv", content)
    result = run_import(engine, path)
    assert (result.new, result.quarantined) == (2, 1)
    with Session(engine) as session:
        row = session.exec(select(QuarantinedRow)).one()
    assert row.path == str(path) and row.line == 4
    assert row.raw == 'R2,2026-03-01,eleven,"multi\nline"'
    assert "outside 0-10" in row.reason


def test_one_megabyte_comment_is_kept_whole_in_quarantine(engine, tmp_path):
    run_import(engine, write(tmp_path, "huge.csv", f"id,date,score,comment\nR1,2026-03-01,3,{LONG}\n"))
    with Session(engine) as session:
        row = session.exec(select(QuarantinedRow)).one()
    assert LONG.strip() in row.raw


def test_result_type_is_plain_data():
    result = ImportResult(path="x", source="s", read=2, new=1, quarantined=1)
    assert result.adds_up
    assert not ImportResult(path="x", source="s", read=2, new=1).adds_up


VENDORS = Path(__file__).parent.parent / "data" / "vendors"


@pytest.mark.parametrize("fixture", sorted(p.name for p in VENDORS.iterdir()))
def test_vendor_exports_import_cleanly(engine, fixture):
    result = run_import(engine, VENDORS / fixture)
    assert result.vendor == fixture.split(".")[0]
    assert result.source == result.vendor
    assert result.read > 0 and result.new == result.read, result.problems
    stored = responses(engine)
    assert all(0 <= r.score <= 10 and r.responded_at.year >= 2020 for r in stored)
    assert any(r.comment for r in stored)
    for r in stored:  # housekeeping and personal columns never become segments
        assert not {"IP Address", "IPAddress", "First Name", "LocationLatitude"} & set(r.segments)


def big_export(tmp_path: Path, rows: int = 5000) -> Path:
    """A multi-megabyte export: long comments, one row in a hundred with an unreadable score."""
    lines = [
        f"B{n},2026-03-01T10:00:00Z,{n % 11 if n % 100 else 'eleven'},{'a long comment about the app ' * 16}{n},a{n},Pro"
        for n in range(rows)
    ]
    return write(tmp_path, "big.csv", HEADER + "\n".join(lines) + "\n")


def test_a_large_file_reports_its_rows_as_they_go_into_the_store(engine, tmp_path):
    path = big_export(tmp_path)
    assert path.stat().st_size > 2_000_000
    seen: dict[str, list[tuple[int, int]]] = {}

    def progress(label: str):
        calls = seen.setdefault(label, [])
        return lambda done, total: calls.append((done, total))

    result = run_import_with(engine, path, progress)

    assert (result.read, result.quarantined) == (5000, 50)
    assert list(seen) == ["importing big.csv"]
    calls = seen["importing big.csv"]
    dones = [done for done, _ in calls]
    assert {total for _, total in calls} == {5000}
    assert dones == sorted(dones) and len(set(dones)) >= 5  # reported as the rows go, not only at the end
    assert calls[0] == (0, 5000) and calls[-1] == (5000, 5000)


def test_without_a_terminal_a_large_import_logs_its_progress(engine, tmp_path, caplog):
    ticks = itertools.count(step=11.0)  # a clock 11 seconds on at every report: each one is due
    progress = functools.partial(output.progress, terminal=False, clock=lambda: float(next(ticks)))
    with caplog.at_level(logging.INFO, logger="backlog_bridge.output"):
        run_import_with(engine, big_export(tmp_path), progress)
    lines = [record.getMessage() for record in caplog.records if record.name.startswith("backlog_bridge.output")]
    assert len(lines) >= 5 and all(line.startswith("importing big.csv: ") for line in lines)
    assert lines[-1] == "importing big.csv: 5000/5000"


def run_import_with(engine, path: Path, progress) -> ImportResult:
    result = import_file(engine, path, IngestSettings(), now=NOW, progress=progress)
    assert result.adds_up, result
    return result
