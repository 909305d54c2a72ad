"""A result described once, shown in every format a command offers (the sqlite-utils way).

A view lists what a result holds, once: each field's JSON key and value and, where it shows in the
table, its column header and cell text. `--format json` and the table are both made from that
list, so a field added to one is in the other; `Rows` also takes the Markdown of a result that is
read as a document (the plan). Everything printed goes through `terminal`, which keeps data inert.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from backlog_bridge.output.terminal import emit_json, say, table

T = TypeVar("T")
U = TypeVar("U")
R = TypeVar("R", contravariant=True)


class View(Protocol[R]):
    """How one kind of result shows: JSON for tools, text (a table, lines) for people."""

    def json(self, result: R) -> object:
        """The result as JSON-ready values."""
        ...

    def text(self, result: R) -> None:
        """Print the result for people."""
        ...

    def markdown(self, result: R) -> str:
        """The result as a Markdown document; ValueError for a result that has none."""
        ...


def show(view: View[R], result: R, fmt: str) -> None:
    """Print `result` as `fmt` asks: "json", "markdown", anything else the table or lines."""
    if fmt == "json":
        emit_json(view.json(result))
    elif fmt == "markdown":
        say(view.markdown(result))
    else:
        view.text(result)


class _NoMarkdown:
    """A view with no Markdown form: no command offers one for its result."""

    def markdown(self, result: object) -> str:
        """Raise: there is no Markdown form."""
        raise ValueError(f"{type(self).__name__} has no Markdown form")


@dataclass(frozen=True)
class Field(Generic[T]):
    """One field of a result: its JSON key and value, and how it shows in the table (if it does)."""

    key: str
    value: Callable[[T], object] | None = None
    """The JSON value; None: the attribute named `key`."""
    header: str | None = ""
    """The table column's header: "" for the key itself, None for a field only JSON shows."""
    cell: Callable[[T], object] | None = None
    """The table cell; None: the JSON value."""
    summed: bool = False
    """Added up in the total row of a table with several rows."""

    def json(self, item: T) -> object:
        """The JSON value of this field of `item`."""
        return self.value(item) if self.value else getattr(item, self.key)

    def text(self, item: T) -> object:
        """The table cell of this field of `item`."""
        return self.cell(item) if self.cell else self.json(item)

    @property
    def column(self) -> str | None:
        """The header of the field's column; None when the table leaves it out."""
        return self.key if self.header == "" else self.header


def json_only(key: str, value: Callable[[T], object] | None = None) -> Field[T]:
    """A field that JSON shows and the table leaves out (long lists, raw numbers shown in another cell)."""
    return Field(key, value, header=None)


@dataclass(frozen=True)
class Rows(Generic[T]):
    """A list result: one table for people, a JSON list of records with the same fields for tools."""

    title: str
    fields: Sequence[Field[T]]
    empty: str = ""
    """Said instead of a table with no rows; "" prints the empty table."""
    footnote: str = ""
    """Said under the table: what a column means."""
    total: bool = False
    """Under several rows, a "total" row of the summed fields."""
    after: Callable[[Sequence[T]], None] | None = None
    """Prints what the table cannot hold (each file's errors and quarantined rows)."""
    records: Callable[[Sequence[T]], object] | None = None
    """The JSON of a result type that defines its own (the plan: every field); None: the fields'."""
    document: Callable[[Sequence[T]], str] | None = None
    """The Markdown document, for a result read as one (the plan); None: no Markdown."""

    def json(self, result: Sequence[T]) -> object:
        """A JSON list of the rows."""
        return self.records(result) if self.records else [self.record(item) for item in result]

    def record(self, item: T) -> dict[str, object]:
        """One row as a JSON object: every field, in order."""
        return {field.key: field.json(item) for field in self.fields}

    def text(self, result: Sequence[T], title: str | None = None) -> None:
        """The table (titled `title` when given), then its footnote and what comes after it."""
        if not result and self.empty:
            say(self.empty)
            return
        shown = [field for field in self.fields if field.column is not None]
        rows = [[field.text(item) for field in shown] for item in result]
        if self.total and len(result) > 1:
            rows.append(["total", *(_sum(field, result) for field in shown[1:])])
        table(title or self.title, [field.column or "" for field in shown], rows)
        if self.footnote:
            say(self.footnote)
        if self.after is not None:
            self.after(result)

    def markdown(self, result: Sequence[T]) -> str:
        """The Markdown document, where the result has one."""
        if self.document is None:
            raise ValueError(f"{self.title} has no Markdown form")
        return self.document(result)


def _sum(field: Field[T], items: Sequence[T]) -> object:
    return sum(n for item in items if isinstance(n := field.json(item), int)) if field.summed else ""


@dataclass(frozen=True)
class Part(Generic[T]):
    """One part of a result that is not a list: its JSON key and value, and what it prints (if anything)."""

    key: str | None
    """The JSON key; None for a part only people read."""
    value: Callable[[T], object] | None = None
    """The JSON value; None for a part only people read."""
    show: Callable[[T], None] | None = None
    """Prints the part; None for a part only JSON shows."""
    optional: bool = False
    """Left out of the JSON when its value is None (figures of rules that did not load)."""


@dataclass(frozen=True)
class Document(_NoMarkdown, Generic[T]):
    """A result of several parts: a JSON object of them for tools, their lines in order for people."""

    parts: Sequence[Part[T]]

    def json(self, result: T) -> object:
        """A JSON object, one key per part."""
        values = {part.key: part.value(result) for part in self.parts if part.key is not None and part.value}
        optional = {part.key for part in self.parts if part.optional}
        return {key: value for key, value in values.items() if value is not None or key not in optional}

    def text(self, result: T) -> None:
        """Each part's lines, in order."""
        for part in self.parts:
            if part.show is not None:
                part.show(result)


@dataclass(frozen=True)
class Each(_NoMarkdown, Generic[T]):
    """Several results of one view: a JSON list of them, and each one's text in turn (one sync per tracker)."""

    view: View[T]

    def json(self, result: Sequence[T]) -> object:
        """A JSON list, one entry per result."""
        return [self.view.json(item) for item in result]

    def text(self, result: Sequence[T]) -> None:
        """Each result's text, in order."""
        for item in result:
            self.view.text(item)


def nested(key: str, get: Callable[[T], U], view: View[U]) -> Part[T]:
    """A part that is a result of its own (a run's imports), shown by that result's view."""
    return Part(key, lambda result: view.json(get(result)), lambda result: view.text(get(result)))
