"""The types a field or an expression can have, and how a person would say them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Type:
    """A value type: `int`, `list<string>`; `ERROR` stands for "already reported"."""

    name: str
    item: Type | None = None

    def __str__(self) -> str:
        return f"list<{self.item}>" if self.item is not None else self.name

    @property
    def is_numeric(self) -> bool:
        return self.name in ("int", "decimal")

    @property
    def is_temporal(self) -> bool:
        return self.name in ("date", "datetime")

    @property
    def is_list(self) -> bool:
        return self.name == "list"

    def describe(self) -> str:
        """The type in words, for messages: "a whole number", "a list of text"."""
        if self.item is not None:
            return f"a list of {_PLURAL.get(self.item.name, str(self.item))}"
        return _WORDS.get(self.name, self.name)


BOOL = Type("bool")
INT = Type("int")
DECIMAL = Type("decimal")
STRING = Type("string")
DATE = Type("date")
DATETIME = Type("datetime")
DURATION = Type("duration")
ERROR = Type("error")


def list_of(item: Type) -> Type:
    return Type("list", item)


SCALARS = {t.name: t for t in (BOOL, INT, DECIMAL, STRING, DATE, DATETIME)}

# Names people reach for from other tools, and the type they mean.
SYNONYMS = {
    "boolean": "bool",
    "integer": "int",
    "number": "decimal",
    "float": "decimal",
    "money": "decimal",
    "currency": "decimal",
    "text": "string",
    "str": "string",
    "timestamp": "datetime",
    "array": "list",
}

_WORDS = {
    "bool": "true/false",
    "int": "a whole number",
    "decimal": "a number",
    "string": "text",
    "date": "a date",
    "datetime": "a date and time",
    "duration": "a duration",
    "error": "a value",
}

_PLURAL = {
    "bool": "true/false values",
    "int": "whole numbers",
    "decimal": "numbers",
    "string": "text",
    "date": "dates",
    "datetime": "dates and times",
}


def comparable(left: Type, right: Type) -> bool:
    """Whether `==` and `!=` make sense between the two types."""
    if ERROR in (left, right):
        return True
    if left.is_numeric and right.is_numeric:
        return True
    if left.is_temporal and right.is_temporal:
        return True
    return left == right and not left.is_list


def orderable(left: Type, right: Type) -> bool:
    """Whether `<`, `<=`, `>` and `>=` make sense between the two types."""
    if ERROR in (left, right):
        return True
    if left.is_numeric and right.is_numeric:
        return True
    if left.is_temporal and right.is_temporal:
        return True
    return left == right == DURATION


def unify_numbers(left: Type, right: Type) -> Type:
    return DECIMAL if DECIMAL in (left, right) else INT
