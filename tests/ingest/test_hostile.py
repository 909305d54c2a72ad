"""Hostile input (tests/data/hostile/, made by its make_corpus.py) through the real importer on both databases.

Every file either imports, with its good rows landed and its bad ones quarantined with a reason,
or fails alone with one reason; nothing raises, and the counts add up.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from backlog_bridge.ingest.importer import import_file, import_paths
from backlog_bridge.settings import IngestSettings
from backlog_bridge.store.tables import ImportBatch, QuarantinedRow, Response

CORPUS = Path(__file__).parent.parent / "data" / "hostile"
EXPECTED: dict[str, dict[str, object]] = json.loads(
    (CORPUS.parent / "hostile.expected.json").read_text(encoding="utf-8")
)
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _rows(engine, table):
    with Session(engine) as session:
        return list(session.exec(select(table)))


def test_every_corpus_file_is_listed_in_expected():
    on_disk = {p.name for p in CORPUS.iterdir() if p.suffix in {".csv", ".json", ".jsonl"}}
    assert on_disk == set(EXPECTED)


def test_the_hostile_corpus_imports_without_a_traceback(engine):
    results = import_paths(engine, [CORPUS], IngestSettings(), now=NOW)

    by_name = {Path(r.path).name: r for r in results}
    assert set(by_name) == set(EXPECTED)
    for name, want in EXPECTED.items():
        result = by_name[name]
        if want.get("error"):
            assert result.error, name
            assert result.read == 0, name
            continue
        assert result.error is None, (name, result.error)
        assert result.adds_up, result
        assert result.read == want["rows"], (name, result.problems)
        assert result.new == want["land"], (name, result.problems)
        assert result.quarantined == want["rows"] - want["land"], name
        assert all(reason for _, reason in result.problems)
    stored = _rows(engine, Response)
    assert len(stored) == sum(r.new for r in results)
    # every good row of every readable file landed
    good = {r.external_id for r in stored if r.comment and r.comment.startswith("good ")}
    expected_good = sum(want.get("good", 0) for want in EXPECTED.values())
    assert len(good) == expected_good
    quarantined = _rows(engine, QuarantinedRow)
    assert len(quarantined) == sum(r.quarantined for r in results)
    assert all(q.reason and q.path and q.line >= 1 for q in quarantined)
    batches = _rows(engine, ImportBatch)
    failed = [b for b in batches if b.error]
    assert sorted(Path(b.path).name for b in failed) == sorted(n for n, w in EXPECTED.items() if w.get("error"))


def test_nul_and_control_characters_never_reach_the_database(engine):
    import_paths(engine, [CORPUS / "nul_bytes.csv", CORPUS / "control_chars.csv"], IngestSettings(), now=NOW)

    stored = {r.external_id: r for r in _rows(engine, Response)}
    assert stored["nul-1"].comment == "comment with a  NUL"
    assert stored["cc-1"].comment == "bell  and escape [2J"
    assert stored["cc-1"].segments == {"plan[31m": "pro"}
    quarantined = {q.line: q for q in _rows(engine, QuarantinedRow)}
    # a NUL in an id changes which response it is: refused, and kept with the NUL written out
    assert "control characters" in quarantined[6].reason
    assert "nul\\x00-3" in quarantined[6].raw and "'nul\\x00-3'" in quarantined[6].reason
    assert "\x00" not in quarantined[5].raw and "8\\x00" in quarantined[5].raw


def test_a_file_mixing_encodings_is_decoded_line_by_line(engine):
    result = import_file(engine, CORPUS / "mixed_encodings.csv", IngestSettings(), now=NOW)

    assert result.new == 3
    comments = sorted(r.comment or "" for r in _rows(engine, Response))
    assert comments == ["Caf\u00e9 crème", "Caf\u00e9 trop cher – 20 €", "Stra\u00dfe"]
    assert not any("Ã" in c for c in comments)
    assert any("line(s) 3" in notice for notice in result.notices)


def test_text_dates_parse_and_keep_the_domain_guards(engine):
    result = import_file(engine, CORPUS / "text_dates.csv", IngestSettings(), now=NOW)

    stored = {r.external_id: r.responded_at.astimezone(UTC) for r in _rows(engine, Response)}
    assert stored["td-1"] == datetime(2026, 3, 4, tzinfo=UTC)
    assert stored["td-2"] == datetime(2026, 3, 4, 10, 15, tzinfo=UTC)
    reasons = dict(result.problems)
    assert "future" in reasons[6]
    assert "lacks a day, month or year" in reasons[7]
    assert "before 1990" in reasons[8]


def test_deep_json_quarantines_only_its_record(engine):
    result = import_file(engine, CORPUS / "json_deep.json", IngestSettings(), now=NOW)

    assert (result.new, result.quarantined) == (2, 1)
    assert "nested deeper than" in result.problems[0][1]


@pytest.mark.parametrize("name", sorted(n for n, w in EXPECTED.items() if w.get("error")))
def test_an_unreadable_file_is_one_reason_and_the_others_go_on(engine, name, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("id,score,date\nok-1,9,2026-03-01\n", encoding="utf-8")

    results = import_paths(engine, [CORPUS / name, good], IngestSettings(), now=NOW)

    assert results[0].error and "\n" not in results[0].error
    assert results[1].error is None and results[1].new == 1


def test_a_file_name_with_undecodable_bytes_is_stored(engine, tmp_path):
    name = tmp_path / "caf\udce9.csv"  # a Latin-1 file name on a UTF-8 system
    name.write_bytes(b"id,score,date\nfn-1,9,2026-03-01\nfn-2,eleven,2026-03-01\n")

    result = import_file(engine, name, IngestSettings(), now=NOW)

    assert (result.new, result.quarantined) == (1, 1)
    assert _rows(engine, QuarantinedRow)[0].path.endswith("caf\ufffd.csv")


def test_the_ingest_command_reports_the_corpus_without_a_traceback(settings_file):
    from typer.testing import CliRunner

    from backlog_bridge.cli import app

    result = CliRunner().invoke(app, ["--config", str(settings_file), "ingest", str(CORPUS)])

    assert result.exit_code == 1  # some files cannot be read at all: said, not raised
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    for name, want in EXPECTED.items():
        if want.get("error"):
            assert f"{name}:" in result.output.replace("\n", ""), name


def test_a_pipe_or_device_named_on_the_command_line_is_refused_not_read(engine, tmp_path):
    pipe = tmp_path / "export.csv"
    os.mkfifo(pipe)  # reading it would block forever

    results = import_paths(engine, [pipe, Path("/dev/zero")], IngestSettings(), now=NOW)

    assert all(r.error and "not a regular file" in r.error for r in results)


def test_day_first_inference_skips_what_is_not_a_day_or_month():
    from backlog_bridge.ingest.importer import infer_dayfirst

    assert infer_dayfirst(["1" * 5000 + "/1/2026", "²/3/2026", "13/1/2026"]) is True
    assert infer_dayfirst(["٣/13/2026"]) is False  # Arabic-Indic three: a real digit
    assert infer_dayfirst(["1" * 5000 + "/1/2026"]) is None
