"""Write the hostile-input corpus next to this script (python tests/data/hostile/make_corpus.py).

Each file holds good rows ("good N" comments) and hostile ones; ../hostile.expected.json says, per file, how
many records it has, how many must land, and whether the file as a whole is unreadable.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).parent
HEADER = "id,score,date,comment\n"


def good(prefix: str, count: int = 2) -> str:
    return "".join(f"{prefix}-g{n},9,2026-03-0{n + 1},good {n}\n" for n in range(count))


def good_json(prefix: str, count: int = 2) -> list[dict[str, object]]:
    return [
        {"id": f"{prefix}-g{n}", "score": 9, "date": f"2026-03-0{n + 1}", "comment": f"good {n}"} for n in range(count)
    ]


def main() -> None:
    expected: dict[str, dict[str, object]] = {}

    def csv_file(name: str, text: str | bytes, rows: int, land: int, good_rows: int = 2) -> None:
        data = text.encode("utf-8") if isinstance(text, str) else text
        (HERE / name).write_bytes(data)
        expected[name] = {"rows": rows, "land": land, "good": good_rows}

    def unreadable(name: str, data: bytes) -> None:
        (HERE / name).write_bytes(data)
        expected[name] = {"error": True}

    csv_file(
        "unix_microseconds.csv",
        HEADER + good("us") + "us-1,7,1764547200000000,µs since 1970\nus-2,7,99999999999999999999999,too far\n",
        4,
        3,
    )
    csv_file(
        "score_400_digits.csv",
        HEADER + good("big") + f"big-1,{'9' * 400},2026-03-05,huge score\nbig-2,{'1' * 5000},2026-03-05,huger\n",
        4,
        2,
    )
    csv_file(
        "text_dates.csv",
        HEADER
        + good("td")
        + 'td-1,8,"March 4, 2026",words\ntd-2,8,4 Mar 2026 10:15,words\ntd-3,8,4 Mar 2126,future\ntd-4,8,March,no day or year\ntd-5,8,"Jan 1, 1901",too old\n'
        + "td-6,8,²/3/2026,superscript digit\n",
        8,
        4,
    )
    csv_file(
        "nul_bytes.csv",
        (
            HEADER
            + good("nul")
            + "nul-1,8,2026-03-05,comment with a \x00 NUL\nnul-2,8\x00,2026-03-05,NUL in the score\nnul\x00-3,8,2026-03-05,NUL in the id\n"
        ).encode(),
        5,
        3,
    )
    csv_file(
        "control_chars.csv",
        (
            "id,score,date,comment,\x01plan\x1b[31m\n"
            + "cc-1,9,2026-03-05,bell \x07 and escape \x1b[2J,pro\x08\n"
            + "cc-2,9,2026-03-06,fine,team\n"
        ),
        2,
        2,
        0,
    )
    utf8 = (HEADER + "enc-1,9,2026-03-05,Café crème\n").encode("utf-8")
    cp1252 = "enc-2,6,2026-03-06,Caf\u00e9 trop cher – 20 €\n".encode("cp1252")
    csv_file("mixed_encodings.csv", utf8 + cp1252 + "enc-3,9,2026-03-07,Straße\n".encode(), 3, 3, 0)
    csv_file(
        "long_fields.csv",
        "id,score,date,comment,email\n"
        + good("lf").replace("\n", ",a@example.com\n")
        + f"lf-1,5,2026-03-05,long id,{'x' * 1000}@example.com\n{'i' * 300},5,2026-03-05,long response id,b@example.com\nlf-3,5,2026-03-05,{'w' * 20_001},c@example.com\n",
        5,
        2,
    )
    records: list[object] = good_json("inf")
    records += [
        {"id": "inf-1", "score": "__1e400__", "date": "2026-03-05"},
        {"id": "inf-2", "score": 9, "date": "__1e400__"},
        {"id": "inf-3", "score": "__nan__", "date": "2026-03-05"},
    ]
    text = json.dumps(records).replace('"__1e400__"', "1e400").replace('"__nan__"', "NaN")
    csv_file("json_1e400.json", text, 5, 2)
    deep = "[" * 100_000 + "]" * 100_000
    text = json.dumps(
        [*good_json("deep"), {"id": "deep-1", "score": 3, "date": "2026-03-05", "extra": "__deep__"}]
    ).replace('"__deep__"', deep)
    csv_file("json_deep.json", text, 3, 2)
    lines = [json.dumps(r) for r in good_json("dl")] + [
        '{"id": "dl-1", "score": 3, "date": "2026-03-05", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    ]
    csv_file("jsonl_deep.jsonl", "\n".join(lines) + "\n", 3, 2)
    digits = "1" * 5000
    csv_file(
        "json_huge_int.json",
        json.dumps(
            [
                *good_json("hi"),
                {"id": "hi-1", "score": "__int__", "date": "2026-03-05"},
                {"id": "hi-2", "score": 5, "date": "__int__"},
            ]
        ).replace('"__int__"', digits),
        4,
        2,
    )
    csv_file(
        "json_surrogates.json",
        json.dumps(
            [
                *good_json("sg"),
                {"id": "sg-1", "score": 4, "date": "2026-03-05", "comment": "half an emoji \ud83d", "plan": "\udc00"},
            ]
        ),
        3,
        3,
    )
    csv_file(
        "json_odd_records.json",
        json.dumps(
            {"items": [*good_json("od"), [1, 2], "text", None, {"id": "od-1", "score": [9], "date": {"y": 2026}}]}
        ),
        6,
        2,
    )
    csv_file(
        "utf16_broken.csv",
        "\ufeff".encode("utf-16-le").join([b"", (HEADER + good("u16")).encode("utf-16-le")]) + b"\x00",
        3,
        2,
    )
    unreadable("json_unclosed_deep.json", b"[" * 100_000)
    unreadable("broken.json", b'[{"id": "x", "score": 9,')
    unreadable("binary.csv", bytes(range(256)) * 40)
    unreadable("no_score_column.csv", b"id,date,comment\nx,2026-03-05,hi\n")
    (HERE.parent / "hostile.expected.json").write_text(
        json.dumps(expected, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
