"""Vendor layout recognition against small, realistic export fixtures."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from backlog_bridge.ingest.vendors import (
    CANONICAL_FIELDS,
    ColumnMap,
    Layout,
    apply_overrides,
    flatten_json_record,
    json_records,
    recognise_header,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "vendors"


def _csv(name: str) -> tuple[list[str], list[list[str]]]:
    with (DATA / name).open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def _recognise_csv(name: str) -> tuple[Layout, list[list[str]]]:
    header, rows = _csv(name)
    return recognise_header(header, rows[:3]), rows


def _recognise_json(name: str) -> tuple[Layout, list[dict[str, Any]]]:
    document = json.loads((DATA / name).read_text(encoding="utf-8"))
    items = json_records(document)
    assert items is not None
    records = [flatten_json_record(item) for item in items]
    keys: dict[str, None] = {}
    for record in records:
        keys.update(dict.fromkeys(record))
    return recognise_header(list(keys)), records


def _mapped(columns: ColumnMap) -> dict[str, str | None]:
    return {name: getattr(columns, name) for name in CANONICAL_FIELDS}


def test_qualtrics_csv_three_header_rows() -> None:
    layout, rows = _recognise_csv("qualtrics.csv")
    assert layout.vendor == "qualtrics"
    assert layout.skip_rows == 2
    assert layout.dayfirst is False
    assert _mapped(layout.columns) == {
        "response_id": "ResponseId",
        "score": "Q1",
        "comment": "Q2",
        "responded_at": "RecordedDate",
        "respondent_id": "RecipientEmail",
        "account_id": "Company",
    }
    assert {
        "IPAddress",
        "Status",
        "Progress",
        "Duration (in seconds)",
        "LocationLatitude",
        "Q1_NPS_GROUP",
    } <= (layout.columns.ignored)
    assert {"RecipientFirstName", "RecipientLastName", "Q_RecaptchaScore"} <= layout.columns.ignored
    assert not {"Plan", "DistributionChannel", "UserLanguage"} & layout.columns.ignored
    first_data = rows[layout.skip_rows]
    assert first_data[0] == "2024-03-04 09:15:02"


def test_qualtrics_nps_group_is_never_the_score_even_without_labels() -> None:
    header = ["ResponseId", "RecordedDate", "Q5_NPS_GROUP", "Q5", "Q6"]
    layout = recognise_header(header, [["R_1", "2024-01-02 10:00:00", "3", "9", "great"]])
    assert layout.vendor == "qualtrics"
    assert layout.skip_rows == 0
    assert layout.columns.score == "Q5"
    assert "Q5_NPS_GROUP" in layout.columns.ignored


def test_generic_question_text_trap_prefers_numeric_column_over_nps_group() -> None:
    text = "How likely are you to recommend us?"
    header = [f"{text} - NPS_GROUP", text, "Date"]
    layout = recognise_header(header, [["Promoter", "10", "2024-01-02"]])
    assert layout.vendor == "generic"
    assert layout.columns.score == text


def test_qualtrics_import_id_row_only() -> None:
    header = ["StartDate", "EndDate", "Progress", "Finished", "ResponseId", "NPS"]
    import_row = ['{"ImportId":"startDate"}', '{"ImportId":"endDate"}', '{"ImportId":"progress"}', "", "", ""]
    layout = recognise_header(header, [import_row, ["2024-01-01", "2024-01-01", "100", "1", "R_1", "8"]])
    assert layout.vendor == "qualtrics"
    assert layout.skip_rows == 1
    assert layout.columns.score == "NPS"
    assert layout.columns.responded_at == "EndDate"


def test_qualtrics_json_values_are_lifted() -> None:
    document = {
        "responses": [
            {
                "responseId": "R_6VfRz3g8gHFfZwl",
                "values": {
                    "startDate": "2023-03-31T15:31:53Z",
                    "endDate": "2023-03-31T15:35:21Z",
                    "status": 0,
                    "ipAddress": "216.211.50.3",
                    "progress": 100,
                    "duration": 208,
                    "finished": 1,
                    "recordedDate": "2023-03-31T15:35:23.446Z",
                    "_recordId": "R_6VfRz3g8gHFfZwl",
                    "QID2_NPS_GROUP": 2,
                    "QID2": 8,
                    "QID3_TEXT": "next day delivery",
                    "AccountState": "ON",
                },
                "labels": {"QID2_NPS_GROUP": "Passive", "QID2": "8"},
                "displayedFields": ["QID2", "QID3"],
            }
        ]
    }
    items = json_records(document)
    assert items is not None
    record = flatten_json_record(items[0])
    assert record["QID2"] == 8
    assert record["recordedDate"] == "2023-03-31T15:35:23.446Z"
    layout = recognise_header(list(record))
    assert layout.vendor == "qualtrics"
    assert _mapped(layout.columns) == {
        "response_id": "responseId",
        "score": "QID2",
        "comment": "QID3_TEXT",
        "responded_at": "recordedDate",
        "respondent_id": None,
        "account_id": None,
    }
    assert {"labels.QID2_NPS_GROUP", "labels.QID2", "displayedFields", "ipAddress", "_recordId"} <= (
        layout.columns.ignored
    )
    assert "AccountState" not in layout.columns.ignored


def test_surveymonkey_two_header_rows_and_labelled_scores() -> None:
    layout, rows = _recognise_csv("surveymonkey.csv")
    assert layout.vendor == "surveymonkey"
    assert layout.skip_rows == 1
    assert _mapped(layout.columns) == {
        "response_id": "Respondent ID",
        "score": "How likely is it that you would recommend Acme to a friend or colleague?",
        "comment": "Why did you give that score?",
        "responded_at": "End Date",
        "respondent_id": "Email Address",
        "account_id": "account",
    }
    assert {"Collector ID", "IP Address", "First Name", "Last Name", "Start Date"} <= layout.columns.ignored
    score_index = _csv("surveymonkey.csv")[0].index(layout.columns.score or "")
    assert rows[layout.skip_rows][score_index] == "10 - Extremely likely"


def test_surveymonkey_without_why_question_takes_first_open_ended_answer() -> None:
    header = [
        "Respondent ID",
        "Collector ID",
        "End Date",
        "How likely is it that you would recommend us?",
        "Anything else?",
    ]
    subhead = ["", "", "", "Response", "Open-Ended Response"]
    layout = recognise_header(header, [subhead, ["1", "2", "03/04/2024", "9", "no"]])
    assert layout.skip_rows == 1
    assert layout.columns.comment == "Anything else?"


def test_surveymonkey_without_second_header_row() -> None:
    header = ["Respondent ID", "Collector ID", "End Date", "How likely is it that you would recommend us?"]
    layout = recognise_header(header, [["1", "2", "03/04/2024", "9"]])
    assert layout.vendor == "surveymonkey"
    assert layout.skip_rows == 0


def test_typeform_csv() -> None:
    layout, _ = _recognise_csv("typeform.csv")
    assert layout.vendor == "typeform"
    assert layout.skip_rows == 0
    assert layout.dayfirst is False
    assert _mapped(layout.columns) == {
        "response_id": "#",
        "score": "How likely are you to recommend Acme to a friend or colleague?",
        "comment": "What could we do better?",
        "responded_at": "Submit Date (UTC)",
        "respondent_id": None,
        "account_id": "account_id",
    }
    assert {"Start Date (UTC)", "Stage Date (UTC)", "Network ID", "Response Type"} == layout.columns.ignored


def test_typeform_json_api_shape() -> None:
    layout, records = _recognise_json("typeform.json")
    assert layout.vendor == "typeform"
    assert _mapped(layout.columns) == {
        "response_id": "response_id",
        "score": "score",
        "comment": "comment",
        "responded_at": "submitted_at",
        "respondent_id": "email",
        "account_id": "account_id",
    }
    assert {
        "token",
        "landing_id",
        "landed_at",
        "calculated.score",
        "metadata.user_agent",
    } <= layout.columns.ignored
    assert "answers.plan" not in layout.columns.ignored
    assert records[0]["score"] == 9
    assert records[1]["score"] == 4


def test_formbricks_csv() -> None:
    layout, _ = _recognise_csv("formbricks.csv")
    assert layout.vendor == "formbricks"
    assert layout.dayfirst is False
    assert _mapped(layout.columns) == {
        "response_id": "Response ID",
        "score": "1. How likely are you to recommend Acme to a friend or colleague?",
        "comment": "2. What is the main reason for your score?",
        "responded_at": "Timestamp",
        "respondent_id": "User ID",
        "account_id": "account_id",
    }
    assert {
        "No.",
        "Finished",
        "Survey ID",
        "Formbricks ID (internal)",
        "Notes",
        "url",
    } <= layout.columns.ignored
    assert {"userAgent - browser", "userAgent - os", "userAgent - device"} <= layout.columns.ignored
    assert not {"Tags", "country", "source", "3. Which plan are you on?"} & layout.columns.ignored


def test_delighted_csv() -> None:
    layout, _ = _recognise_csv("delighted.csv")
    assert layout.vendor == "delighted"
    assert _mapped(layout.columns) == {
        "response_id": "Response ID",
        "score": "Score",
        "comment": "Comment",
        "responded_at": "Response timestamp",
        "respondent_id": "Email",
        "account_id": "Company",
    }
    assert {"Name", "Permalink", "Delighted Browser", "Notes"} <= layout.columns.ignored
    assert not {"Delighted Source", "Tags", "Plan"} & layout.columns.ignored


def test_delighted_json_api_shape() -> None:
    layout, records = _recognise_json("delighted.json")
    assert layout.vendor == "delighted"
    assert _mapped(layout.columns) == {
        "response_id": "id",
        "score": "score",
        "comment": "comment",
        "responded_at": "created_at",
        "respondent_id": "person",
        "account_id": "Company",
    }
    assert {"permalink", "survey_type", "updated_at", "notes", "additional_answers"} <= layout.columns.ignored
    assert records[1]["Delighted Source"] == "Email"
    assert records[1]["tags"] == "churn-risk, exports"
    assert records[0]["created_at"] == 1709543800


def test_generic_aliases_are_case_space_and_punctuation_insensitive() -> None:
    header = ["  RESPONSE-id ", "NPS_Score", "Feedback", "created_at", "E-mail", "Account ID", "Region"]
    layout = recognise_header(header)
    assert layout.vendor == "generic"
    assert layout.skip_rows == 0
    assert _mapped(layout.columns) == {
        "response_id": "  RESPONSE-id ",
        "score": "NPS_Score",
        "comment": "Feedback",
        "responded_at": "created_at",
        "respondent_id": "E-mail",
        "account_id": "Account ID",
    }
    assert "Region" not in layout.columns.ignored


def test_generic_question_texts() -> None:
    header = [
        "When",
        "On a scale of 0-10, how likely are you to recommend Acme to a colleague?",
        "What can we do to improve?",
        "Timestamp",
    ]
    layout = recognise_header(header)
    assert layout.columns.score == header[1]
    assert layout.columns.comment == header[2]
    assert layout.columns.responded_at == "Timestamp"


def test_score_named_column_beats_question_text() -> None:
    header = ["How likely are you to recommend us?", "Rating", "date"]
    layout = recognise_header(header, [["9", "8", "2024-01-01"]])
    assert layout.columns.score == "Rating"


def test_generic_without_score_column_leaves_score_none() -> None:
    layout = recognise_header(["date", "comment", "email"])
    assert layout.vendor == "generic"
    assert layout.columns.score is None
    assert layout.columns.comment == "comment"


def test_generic_personal_columns_are_ignored_unless_mapped() -> None:
    layout = recognise_header(["score", "user id", "Work Email", "Name", "IP Address", "plan"])
    assert layout.columns.respondent_id == "user id"
    assert {"Work Email", "Name", "IP Address"} == layout.columns.ignored


def test_email_beats_user_id_for_respondent() -> None:
    layout = recognise_header(["score", "User ID", "Email"])
    assert layout.columns.respondent_id == "Email"
    assert "User ID" not in layout.columns.ignored


def test_canonical_field_names_map_to_themselves() -> None:
    layout = recognise_header(["id", "respondent_id", "score", "responded_at"])
    assert layout.columns.response_id == "id"
    assert layout.columns.respondent_id == "respondent_id"


def test_respondent_id_header_is_a_response_id_when_nothing_better() -> None:
    layout = recognise_header(["Respondent ID", "score", "email"])
    assert layout.columns.response_id == "Respondent ID"
    assert layout.columns.respondent_id == "email"


def test_apply_overrides_replaces_and_moves_columns() -> None:
    layout, _ = _recognise_csv("qualtrics.csv")
    changed = apply_overrides(layout, {"account_id": "ExternalReference", "comment": "Company"})
    assert changed.columns.account_id == "ExternalReference"
    assert changed.columns.comment == "Company"
    assert changed.columns.score == "Q1"
    assert changed.vendor == "qualtrics"
    assert changed.skip_rows == 2
    assert layout.columns.account_id == "Company"


def test_apply_overrides_takes_column_from_other_field_and_unignores_it() -> None:
    layout, _ = _recognise_csv("qualtrics.csv")
    changed = apply_overrides(layout, {"score": "Q1_NPS_GROUP", "respondent_id": ""})
    assert changed.columns.score == "Q1_NPS_GROUP"
    assert "Q1_NPS_GROUP" not in changed.columns.ignored
    assert changed.columns.respondent_id is None
    moved = apply_overrides(layout, {"respondent_id": "Company"})
    assert moved.columns.respondent_id == "Company"
    assert moved.columns.account_id is None


def test_apply_overrides_rejects_unknown_field() -> None:
    layout = recognise_header(["score"])
    with pytest.raises(ValueError, match="'nps'"):
        apply_overrides(layout, {"nps": "Score"})


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ([{"a": 1}], [{"a": 1}]),
        ({"items": [{"a": 1}], "total_items": 1}, [{"a": 1}]),
        ({"responses": [{"a": 2}]}, [{"a": 2}]),
        ({"data": [{"a": 3}]}, [{"a": 3}]),
        ({"results": [{"a": 4}]}, [{"a": 4}]),
        ({"survey_responses": [{"a": 5}]}, [{"a": 5}]),
        ([], []),
        ([{"a": 1}, 42, "x"], [{"a": 1}, 42, "x"]),
    ],
)
def test_json_records_finds_the_list(document: Any, expected: list[dict[str, int]]) -> None:
    assert json_records(document) == expected


@pytest.mark.parametrize(
    "document",
    [
        {"score": 9},
        {"items": "nope"},
        {"data": {"responses": []}},
        [1, 2],
        "text",
        None,
        {"rows": [{"a": 1}]},
    ],
)
def test_json_records_none_when_no_record_list(document: Any) -> None:
    assert json_records(document) is None


def test_flatten_leaves_flat_records_unchanged() -> None:
    record = {"score": 7, "comment": "ok", "date": "2024-01-01", "missing": None}
    assert flatten_json_record(record) == record


def test_flatten_nested_objects_use_dotted_keys_and_top_level_wins() -> None:
    record = {
        "score": 3,
        "account": {"id": "acme", "tier": {"name": "gold"}},
        "person_properties": {"score": 10, "Region": "EU"},
    }
    assert flatten_json_record(record) == {
        "score": 3,
        "account.id": "acme",
        "account.tier.name": "gold",
        "Region": "EU",
    }


def test_flatten_typeform_prefers_nps_field_and_long_text() -> None:
    record = {
        "token": "t1",
        "submitted_at": "2024-01-01T00:00:00Z",
        "answers": [
            {"field": {"id": "f1", "type": "short_text", "ref": "company"}, "type": "text", "text": "Acme"},
            {"field": {"id": "f2", "type": "number", "ref": "seats"}, "type": "number", "number": 40},
            {"field": {"id": "f3", "type": "opinion_scale", "ref": "nps"}, "type": "number", "number": 8},
            {"field": {"id": "f4", "type": "long_text", "ref": "why"}, "type": "text", "text": "Slow"},
            {"field": {"id": "f5", "type": "email"}, "type": "email", "email": "a@example.com"},
            {"field": {"id": "f6", "type": "yes_no", "ref": "renew"}, "type": "boolean", "boolean": True},
        ],
        "hidden": {"account_id": "acme"},
    }
    flat = flatten_json_record(record)
    assert flat["score"] == 8
    assert flat["comment"] == "Slow"
    assert flat["answers.company"] == "Acme"
    assert flat["answers.seats"] == 40
    assert flat["answers.renew"] is True
    assert flat["email"] == "a@example.com"
    assert flat["account_id"] == "acme"
    assert "answers" not in flat


def test_flatten_typeform_short_text_when_no_long_text() -> None:
    record = {
        "answers": [
            {"field": {"id": "f1", "type": "nps"}, "type": "number", "number": 0},
            {"field": {"id": "f2", "type": "short_text"}, "type": "text", "text": "Too pricey"},
        ]
    }
    assert flatten_json_record(record) == {"score": 0, "comment": "Too pricey"}


def test_flatten_keeps_non_typeform_answers_list() -> None:
    record = {"answers": [{"q": 1}], "tags": ["a", "b"]}
    assert flatten_json_record(record) == {"answers": [{"q": 1}], "tags": "a, b"}


def test_respondent_email_column_identifies_the_respondent():
    header = ["response_id", "responded_at", "score", "comment", "account_id", "respondent_email", "plan"]
    layout = recognise_header(header)
    assert layout.columns.respondent_id == "respondent_email"
    assert "respondent_email" not in layout.columns.ignored
