"""Recognise the column layout of survey-tool exports so a file imports without hand mapping.

Qualtrics, SurveyMonkey, Delighted, Typeform and Formbricks each put the NPS score, the comment, the
date and the ids in known places and add housekeeping columns (IP address, progress, user agent...)
that must not become segment metadata. Anything else goes through a generic alias matcher. Only
column *names* are decided here; reading files and parsing values is the caller's job.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

CANONICAL_FIELDS = ("response_id", "score", "comment", "responded_at", "respondent_id", "account_id")


@dataclass(frozen=True)
class ColumnMap:
    """Which input column feeds each canonical field; None when the input has no such column."""

    score: str | None
    response_id: str | None = None
    comment: str | None = None
    responded_at: str | None = None
    respondent_id: str | None = None
    account_id: str | None = None
    ignored: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Layout:
    """A recognised export layout: the vendor, its column map and how to read its rows."""

    vendor: str
    columns: ColumnMap
    skip_rows: int = 0
    dayfirst: bool | None = None


# Fields are matched in this order so that e.g. response_id claims "Respondent ID" before
# respondent_id can (SurveyMonkey's "Respondent ID" is one id per response, not per person).
_FIELD_ORDER = ("score", "response_id", "responded_at", "comment", "respondent_id", "account_id")

_ALIAS_TEXT: dict[str, tuple[str, ...]] = {
    "score": ("score", "nps", "nps score", "rating", "likelihood to recommend", "recommend"),
    "response_id": ("response id", "respondent id", "id", "#", "token"),
    "responded_at": (
        "responded_at", "date", "created at", "submitted at", "submit date (utc)", "recordeddate",
        "end date", "timestamp", "response date", "response timestamp",
    ),
    "comment": ("comment", "comments", "feedback", "reason", "why", "text", "open-ended response"),
    "respondent_id": (
        "email", "email address", "recipientemail", "user id", "respondent", "person", "customer id",
        "respondent_id", "respondent email", "customer email", "user email", "contact email", "contact id",
    ),
    "account_id": (
        "account", "account id", "company", "organization", "organisation", "customer", "company name",
        "account name", "company id", "organization id",
    ),
}  # fmt: skip

_COMMENT_OPENERS = (
    "why", "what is the main reason", "what is the primary reason", "what could we", "what can we",
    "how can we improve", "how could we improve", "please tell us why", "tell us why",
)  # fmt: skip

# Personal or housekeeping columns dropped from segment metadata whatever the vendor (unless mapped).
_COMMON_IGNORED = frozenset(
    {
        "ipaddress", "ip", "useragent", "firstname", "lastname", "fullname", "name", "latitude",
        "longitude", "phone", "phonenumber",
    }
)  # fmt: skip

_JSON_LIST_KEYS = ("items", "responses", "data", "results", "survey_responses")


def _key(name: str) -> str:
    """Case-, space- and punctuation-free form of a name, so "Response ID" matches "response_id"."""
    return re.sub(r"[\W_]+", "", name.casefold()) or name.strip()


def _words(text: str) -> list[str]:
    """Lower-case words of a question text without leading numbering ("1.", "Q2 -")."""
    words = re.findall(r"[^\W_]+", text.casefold())
    while words and re.fullmatch(r"(?:q|qid)?\d+", words[0]):
        words.pop(0)
    return words


def _asks_recommend(text: str) -> bool:
    """True for the standard NPS question ("How likely are you to recommend...")."""
    joined = " ".join(_words(text))
    return "how likely" in joined and "recommend" in joined


def _asks_reason(text: str) -> bool:
    """True for a follow-up question asking why ("Why did you give that score?")."""
    joined = " ".join(_words(text))
    return any(joined == opener or joined.startswith(opener + " ") for opener in _COMMENT_OPENERS)


def _is_nps_group(name: str) -> bool:
    """Qualtrics' derived detractor/passive/promoter column (Q1_NPS_GROUP), never the score."""
    return _key(name).endswith("npsgroup")


def _looks_like_score(value: str) -> bool:
    """A 0-10 number, possibly with a label ("10 - Extremely likely")."""
    return re.fullmatch(r"\s*\d{1,2}(?:[.,]\d+)?(?:\s*-.*)?\s*", value) is not None


def _is_personal(name: str) -> bool:
    """Columns that identify a person; kept out of segments unless mapped to respondent_id."""
    key = _key(name)
    return key in _COMMON_IGNORED or "email" in key


@dataclass(frozen=True)
class _Sheet:
    """What the matchers know about an input: column names, question texts and sample values."""

    columns: tuple[str, ...]
    texts: Mapping[str, tuple[str, ...]]
    samples: Mapping[str, tuple[str, ...]]
    subheads: Mapping[str, str]

    def keys(self) -> set[str]:
        """Normalised names of all columns, for vendor signatures."""
        return {_key(column) for column in self.columns}

    def find(self, *keys: str) -> str | None:
        """The first column whose normalised name is one of keys, trying keys in order."""
        for wanted in keys:
            for column in self.columns:
                if _key(column) == wanted:
                    return column
        return None


def _sheet(header: Sequence[str], label_row: Sequence[str] = (), data_rows: Sequence[Sequence[str]] = ()) -> _Sheet:
    """Index a header with an optional question-text row and sample data rows."""
    columns: list[str] = []
    texts: dict[str, tuple[str, ...]] = {}
    samples: dict[str, tuple[str, ...]] = {}
    subheads: dict[str, str] = {}
    for index, column in enumerate(header):
        if not column.strip() or column in texts:
            continue
        columns.append(column)
        label = label_row[index].strip() if index < len(label_row) else ""
        texts[column] = (column, label) if label else (column,)
        subheads[column] = label
        samples[column] = tuple(row[index].strip() for row in data_rows if index < len(row) and row[index].strip())
    return _Sheet(tuple(columns), texts, samples, subheads)


def _prefer_scores(candidates: Sequence[str], sheet: _Sheet) -> str | None:
    """The first candidate whose sample values look like 0-10 scores, else the first candidate."""
    for column in candidates:
        values = sheet.samples.get(column, ())
        if values and all(_looks_like_score(value) for value in values):
            return column
    return candidates[0] if candidates else None


def _alias_matches(field: str, columns: Sequence[str]) -> list[str]:
    """Columns whose name is an alias of field, best alias first."""
    found: list[str] = []
    for alias in (_key(text) for text in _ALIAS_TEXT[field]):
        found.extend(column for column in columns if _key(column) == alias and column not in found)
    return found


def _find_score(sheet: _Sheet, columns: Sequence[str]) -> str | None:
    """A score-named column beats a question-text match; *_NPS_GROUP is never a candidate."""
    usable = [column for column in columns if not _is_nps_group(column)]
    by_name = _alias_matches("score", usable)
    if by_name:
        return _prefer_scores(by_name, sheet)
    by_text = [column for column in usable if any(_asks_recommend(t) for t in sheet.texts[column])]
    return _prefer_scores(by_text, sheet)


def _find_comment(sheet: _Sheet, columns: Sequence[str]) -> str | None:
    """A comment-named column, else the first question asking why."""
    by_name = _alias_matches("comment", columns)
    if by_name:
        return by_name[0]
    return next((c for c in columns if any(_asks_reason(t) for t in sheet.texts[c])), None)


def _find_generic(field: str, sheet: _Sheet, columns: Sequence[str]) -> str | None:
    """The best column for field among columns by the generic rules."""
    if field == "score":
        return _find_score(sheet, columns)
    if field == "comment":
        return _find_comment(sheet, columns)
    matches = _alias_matches(field, columns)
    return matches[0] if matches else None


def _build(
    sheet: _Sheet,
    fixed: Mapping[str, str | None],
    vendor_ignored: Iterable[str] = (),
    fallbacks: Mapping[str, Callable[[_Sheet, Sequence[str]], str | None]] | None = None,
) -> ColumnMap:
    """Complete a vendor's fixed columns with generic matches over the columns it leaves free.

    Order: vendor-fixed columns, then columns literally named like a canonical field
    ("respondent_id"), then aliases and question texts, then vendor fallbacks.
    """
    skip = set(vendor_ignored)
    chosen: dict[str, str | None] = {name: fixed.get(name) for name in _FIELD_ORDER}
    taken = {column for column in chosen.values() if column}

    def free() -> list[str]:
        return [c for c in sheet.columns if c not in taken and c not in skip]

    for name in _FIELD_ORDER:
        literal = next((c for c in free() if c.strip().casefold() == name), None)
        if chosen[name] is None and literal:
            chosen[name] = literal
            taken.add(literal)
    for name in _FIELD_ORDER:
        if chosen[name] is None:
            chosen[name] = _find_generic(name, sheet, free())
        if chosen[name] is None and fallbacks and name in fallbacks:
            chosen[name] = fallbacks[name](sheet, free())
        if chosen[name]:
            taken.add(chosen[name] or "")
    ignored = {c for c in sheet.columns if c in skip or _is_personal(c)} - taken
    return ColumnMap(
        score=chosen["score"],
        response_id=chosen["response_id"],
        comment=chosen["comment"],
        responded_at=chosen["responded_at"],
        respondent_id=chosen["respondent_id"],
        account_id=chosen["account_id"],
        ignored=frozenset(ignored),
    )


# --- Qualtrics --------------------------------------------------------------------------------

_QUALTRICS_IGNORED = frozenset(
    {
        "startdate", "enddate", "status", "ipaddress", "progress", "durationinseconds", "duration",
        "finished", "recipientlastname", "recipientfirstname", "locationlatitude", "locationlongitude",
        "recordid", "responseid", "recordeddate",
    }
)  # fmt: skip


def _is_import_id_row(row: Sequence[str]) -> bool:
    """Qualtrics' third header row: {"ImportId":"QID1"} in every cell."""
    return any(cell.strip().startswith('{"ImportId"') for cell in row)


def _is_qualtrics_label_row(header: Sequence[str], row: Sequence[str]) -> bool:
    """Qualtrics' second header row repeats the field names as labels ("Response ID", "Start Date")."""
    for name, cell in zip(header, row, strict=False):
        if _key(name) in {"responseid", "startdate", "enddate", "recordeddate"}:
            return _key(cell) == _key(name) or _key(cell) in {
                "responseid",
                "startdate",
                "enddate",
                "recordeddate",
            }
    return False


def _qualtrics_header_rows(header: Sequence[str], first_rows: Sequence[Sequence[str]]) -> tuple[int, Sequence[str]]:
    """How many rows after the header are header rows, and the question-text row if there is one."""
    skip = 0
    labels: tuple[str, ...] = ()
    for index, row in enumerate(first_rows[:2]):
        if _is_import_id_row(row):
            skip = index + 1
        elif index == 0 and _is_qualtrics_label_row(header, row):
            skip, labels = 1, tuple(row)
        else:
            break
    return skip, labels


def _is_qualtrics(keys: set[str], first_rows: Sequence[Sequence[str]]) -> bool:
    """Response id plus recorded date, the progress/finished pair, or an ImportId row."""
    return (
        {"responseid", "recordeddate"} <= keys
        or {"startdate", "enddate", "progress", "finished"} <= keys
        or any(_is_import_id_row(row) for row in first_rows[:3])
    )


def _qualtrics_score(sheet: _Sheet) -> str | None:
    """The question that has a Q1_NPS_GROUP companion is the NPS question (Q1)."""
    for column in sheet.columns:
        if _is_nps_group(column) and not column.startswith(("labels.", "displayedValues.")):
            base = re.sub(r"[\W_]*nps[\W_]*group$", "", column, flags=re.IGNORECASE)
            match = sheet.find(_key(base)) if base else None
            if match and not _is_nps_group(match):
                return match
    return None


def _qualtrics_text_entry(sheet: _Sheet, columns: Sequence[str]) -> str | None:
    """JSON exports name text-entry answers QID2_TEXT; the first one is the likely comment."""
    return next((c for c in columns if re.fullmatch(r"QID\d+_TEXT", c, flags=re.IGNORECASE)), None)


def _qualtrics_ignores(column: str) -> bool:
    """Housekeeping: metadata, fraud checks (Q_RecaptchaScore), display order (_DO), NPS groups, labels."""
    return (
        _key(column) in _QUALTRICS_IGNORED
        or column.startswith(("Q_", "labels.", "displayedValues.", "displayedFields"))
        or column.upper().endswith("_DO")
        or _is_nps_group(column)
    )


def _qualtrics(header: Sequence[str], first_rows: Sequence[Sequence[str]]) -> Layout:
    """Qualtrics CSV/TSV (3 header rows) or JSON export (values flattened to the top level)."""
    skip, labels = _qualtrics_header_rows(header, first_rows)
    sheet = _sheet(header, labels, first_rows[skip:])
    fixed = {
        "score": _qualtrics_score(sheet),
        "response_id": sheet.find("responseid", "recordid"),
        "responded_at": sheet.find("recordeddate", "enddate"),
        "respondent_id": sheet.find("recipientemail"),
    }
    ignored = [c for c in sheet.columns if _qualtrics_ignores(c)]
    columns = _build(sheet, fixed, ignored, {"comment": _qualtrics_text_entry})
    return Layout("qualtrics", columns, skip_rows=skip, dayfirst=False)


# --- SurveyMonkey -----------------------------------------------------------------------------

_SURVEYMONKEY_SUBHEADS = frozenset({"response", "openendedresponse", "otherpleasespecify", "comment"})


def _is_surveymonkey_subhead(row: Sequence[str]) -> bool:
    """SurveyMonkey's second header row: "Response" / "Open-Ended Response" / choice labels."""
    return any(_key(cell) in _SURVEYMONKEY_SUBHEADS for cell in row) or (
        len(row) > 9 and not any(cell.strip() for cell in row[:9]) and any(cell.strip() for cell in row[9:])
    )


def _surveymonkey_open_ended(sheet: _Sheet, columns: Sequence[str]) -> str | None:
    """Without a "why" question, the first free-text ("Open-Ended Response") answer is the comment."""
    open_ended = [c for c in columns if _key(sheet.subheads.get(c, "")) == "openendedresponse"]
    return open_ended[0] if open_ended else None


def _surveymonkey(header: Sequence[str], first_rows: Sequence[Sequence[str]]) -> Layout:
    """SurveyMonkey CSV/XLS export: question texts in the header, answer type in a second row."""
    skip = 1 if first_rows and _is_surveymonkey_subhead(first_rows[0]) else 0
    sheet = _sheet(header, first_rows[0] if skip else (), first_rows[skip:])
    fixed = {
        "response_id": sheet.find("respondentid"),
        "responded_at": sheet.find("enddate"),
        "respondent_id": sheet.find("emailaddress"),
    }
    ignored = [c for c in sheet.columns if _key(c) in {"collectorid", "startdate", "ipaddress", "enddate"}]
    columns = _build(sheet, fixed, ignored, {"comment": _surveymonkey_open_ended})
    return Layout("surveymonkey", columns, skip_rows=skip)


# --- Typeform ---------------------------------------------------------------------------------

_TYPEFORM_IGNORED = frozenset(
    {
        "startdateutc", "stagedateutc", "networkid", "responsetype", "landingid", "landedat", "token",
        "calculatedscore", "submitdateutc", "submittedat", "responseid", "variables",
    }
)  # fmt: skip


def _is_typeform(header: Sequence[str], keys: set[str]) -> bool:
    """CSV: "#" token plus the (UTC) date columns; JSON: token/response_id, landed_at, submitted_at."""
    csv_like = "#" in {h.strip() for h in header} and bool(keys & {"submitdateutc", "startdateutc", "networkid"})
    json_like = (
        bool(keys & {"token", "responseid"}) and "submittedat" in keys and bool(keys & {"landedat", "landingid"})
    )
    return csv_like or json_like


def _typeform(header: Sequence[str], first_rows: Sequence[Sequence[str]]) -> Layout:
    """Typeform CSV download or Responses API items (flattened by flatten_json_record)."""
    sheet = _sheet(header, (), first_rows)
    fixed = {
        "response_id": sheet.find("#", "responseid", "token"),
        "responded_at": sheet.find("submitdateutc", "submittedat"),
    }
    ignored = [c for c in sheet.columns if _key(c) in _TYPEFORM_IGNORED or c.startswith("metadata.")]
    return Layout("typeform", _build(sheet, fixed, ignored), dayfirst=False)


# --- Formbricks -------------------------------------------------------------------------------

_FORMBRICKS_IGNORED = frozenset(
    {"no", "finished", "surveyid", "formbricksidinternal", "notes", "url", "responseid", "timestamp"}
)


def _is_formbricks(keys: set[str]) -> bool:
    """Formbricks' export always has "Formbricks ID (internal)" next to Response ID/Timestamp/Finished."""
    return "formbricksidinternal" in keys or {"responseid", "timestamp", "finished", "surveyid"} <= keys


def _formbricks(header: Sequence[str], first_rows: Sequence[Sequence[str]]) -> Layout:
    """Formbricks CSV/XLSX download: fixed columns, meta, then "1. <headline>" questions, hidden fields."""
    sheet = _sheet(header, (), first_rows)
    fixed = {
        "response_id": sheet.find("responseid"),
        "responded_at": sheet.find("timestamp"),
        "respondent_id": sheet.find("userid", "verifiedemail"),
    }
    ignored = [c for c in sheet.columns if _key(c) in _FORMBRICKS_IGNORED or _key(c).startswith("useragent")]
    return Layout("formbricks", _build(sheet, fixed, ignored), dayfirst=False)


# --- Delighted --------------------------------------------------------------------------------

_DELIGHTED_IGNORED = frozenset(
    {
        "permalink", "updatedat", "surveytype", "notes", "additionalanswers", "lastupdatedtimestamp",
        "delightedbrowser", "delightedoperatingsystem", "delightedpage", "delightedpageurl",
        "delightedreferrerurl", "delightedsourceurl", "id", "responseid", "createdat", "responsetimestamp",
    }
)  # fmt: skip


def _is_delighted(keys: set[str]) -> bool:
    """Score and comment plus a Delighted-only column (permalink, survey_type, "Delighted ..." property)."""
    marker = bool(keys & {"permalink", "surveytype"}) or any(key.startswith("delighted") for key in keys)
    return {"score", "comment"} <= keys and marker


def _delighted(header: Sequence[str], first_rows: Sequence[Sequence[str]]) -> Layout:
    """Delighted API survey responses (person_properties flattened) or its CSV export."""
    sheet = _sheet(header, (), first_rows)
    fixed = {
        "score": sheet.find("score"),
        "comment": sheet.find("comment"),
        "response_id": sheet.find("id", "responseid"),
        "responded_at": sheet.find("createdat", "responsetimestamp"),
        "respondent_id": sheet.find("personemail", "email", "personid", "person"),
    }
    ignored = [c for c in sheet.columns if _key(c) in _DELIGHTED_IGNORED or c.startswith("person.")]
    return Layout("delighted", _build(sheet, fixed, ignored))


# --- entry points -----------------------------------------------------------------------------


def recognise_header(header: Sequence[str], first_rows: Sequence[Sequence[str]] = ()) -> Layout:
    """Pick the vendor layout of a CSV header, falling back to the generic alias matcher.

    first_rows are up to 3 rows after the header, used to detect Qualtrics/SurveyMonkey extra header
    rows and to prefer a numeric score column. The returned ColumnMap.score may be None when no score
    column is found; the caller reports that.
    """
    keys = {_key(column) for column in header if column.strip()}
    if {"respondentid", "collectorid"} <= keys:
        return _surveymonkey(header, first_rows)
    if _is_qualtrics(keys, first_rows):
        return _qualtrics(header, first_rows)
    if _is_typeform(header, keys):
        return _typeform(header, first_rows)
    if _is_formbricks(keys):
        return _formbricks(header, first_rows)
    if _is_delighted(keys):
        return _delighted(header, first_rows)
    return Layout("generic", _build(_sheet(header, (), first_rows), {}))


def json_records(document: Any) -> list[Mapping[str, Any]] | None:
    """The list of response records in a parsed JSON document, or None if there is none.

    Accepts a top-level list (Delighted API) or a list under "items" (Typeform), "responses"
    (Qualtrics), "data" (Formbricks), "results" or "survey_responses". A list with no JSON object in
    it is not a record list; stray non-objects in a list of objects are kept for per-record errors.
    """
    if isinstance(document, Mapping):
        for key in _JSON_LIST_KEYS:
            found = _record_list(document.get(key))
            if found is not None:
                return found
        return None
    return _record_list(document)


def _record_list(value: Any) -> list[Mapping[str, Any]] | None:
    """Value itself when it is a list holding JSON objects (or empty).

    Stray non-object items stay in the list so the caller can reject them one by one.
    """
    if isinstance(value, list) and (not value or any(isinstance(item, Mapping) for item in value)):
        items: list[Mapping[str, Any]] = value
        return items
    return None


def flatten_json_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """Flatten one JSON response object into the flat column->value dict recognise_header maps.

    Typeform answers become "score" (first nps/opinion_scale/number answer), "comment" (first
    long_text, else short_text) and "answers.<ref>"; Typeform hidden fields and Delighted
    person_properties become their own keys; Qualtrics "values" move to the top level; other nested
    objects become "a.b" keys and lists of plain values are joined with ", ". Keys present at the top
    level always win over keys lifted from nested objects.
    """
    flat: dict[str, Any] = {}
    lifted: list[Mapping[str, Any]] = []
    typeform = _typeform_answers(record)
    for key, value in record.items():
        if isinstance(value, Mapping) and _is_lifted(key, record):
            lifted.append(value)
        elif key == "answers" and typeform is not None:
            lifted.append(typeform)
        else:
            _flatten_into(flat, key, value)
    for extra in lifted:
        for key, value in extra.items():
            if key not in flat:
                _flatten_into(flat, key, value)
    return flat


def _is_lifted(key: str, record: Mapping[str, Any]) -> bool:
    """Nested objects whose keys are columns in their own right (properties, hidden fields, answers)."""
    return key in ("person_properties", "hidden") or (key == "values" and "responseId" in record)


def _flatten_into(flat: dict[str, Any], key: str, value: Any) -> None:
    """Store value under key, descending into objects as "key.sub"."""
    if isinstance(value, Mapping):
        for sub, item in value.items():
            _flatten_into(flat, f"{key}.{sub}", item)
    elif isinstance(value, list) and all(not isinstance(item, Mapping | list) for item in value):
        flat[key] = ", ".join(str(item) for item in value if item is not None and str(item) != "")
    else:
        flat[key] = value


_TYPEFORM_SCORE_TYPES = ("nps", "opinion_scale", "number")
_TYPEFORM_COMMENT_TYPES = ("long_text", "short_text")


def _typeform_answers(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """Typeform's answers list as flat keys, or None when record has no Typeform answers."""
    answers = record.get("answers")
    if not isinstance(answers, list) or not answers:
        return None
    if not all(isinstance(a, Mapping) and isinstance(a.get("field"), Mapping) for a in answers):
        return None
    score = _first_answer(answers, _TYPEFORM_SCORE_TYPES, "number")
    comment = _first_answer(answers, _TYPEFORM_COMMENT_TYPES, "text")
    flat: dict[str, Any] = {}
    if score is not None:
        flat["score"] = score.get("number")
    if comment is not None:
        flat["comment"] = comment.get("text")
    for answer in answers:
        if answer is score or answer is comment:
            continue
        field = answer["field"]
        if answer.get("type") == "email":
            flat.setdefault("email", answer.get("email"))
        flat[f"answers.{field.get('ref') or field.get('id')}"] = _answer_value(answer)
    return flat


def _first_answer(answers: Sequence[Mapping[str, Any]], field_types: Sequence[str], kind: str) -> Any:
    """The first answer of the most preferred field type (nps before a plain number question)."""
    for field_type in field_types:
        for answer in answers:
            if answer.get("type") == kind and answer["field"].get("type") == field_type:
                return answer
    return None


def _answer_value(answer: Mapping[str, Any]) -> Any:
    """The plain value of a Typeform answer of any type (choice label, joined labels, number...)."""
    kind = answer.get("type")
    value = answer.get(kind) if isinstance(kind, str) else None
    if kind == "choice" and isinstance(value, Mapping):
        return value.get("label") or value.get("other")
    if kind == "choices" and isinstance(value, Mapping):
        labels = [str(label) for label in value.get("labels") or ()]
        return ", ".join([*labels, str(value["other"])] if value.get("other") else labels)
    return value


def apply_overrides(layout: Layout, overrides: Mapping[str, str]) -> Layout:
    """Replace mapped columns with a user's per-source mapping from settings.

    Keys are canonical field names, values column names; an empty value unmaps the field. A column
    moved to a new field is taken away from the field that had it, and is no longer ignored.

    Raises:
        ValueError: an override key is not a canonical field (the message names it).
    """
    for name in overrides:
        if name not in CANONICAL_FIELDS:
            raise ValueError(
                f"unknown field {name!r} in column mapping (expected one of: {', '.join(CANONICAL_FIELDS)})"
            )
    chosen = {name: (column if column.strip() else None) for name, column in overrides.items()}
    moved = {column for column in chosen.values() if column}
    current = {name: getattr(layout.columns, name) for name in CANONICAL_FIELDS}
    for name, column in current.items():
        if name not in chosen and column in moved:
            current[name] = None
    current.update(chosen)
    columns = ColumnMap(
        score=current["score"],
        response_id=current["response_id"],
        comment=current["comment"],
        responded_at=current["responded_at"],
        respondent_id=current["respondent_id"],
        account_id=current["account_id"],
        ignored=layout.columns.ignored - moved,
    )
    return replace(layout, columns=columns)
