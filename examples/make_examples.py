"""Write the bundled example exports for `policies/japan.stage`.

    python examples/make_examples.py                # write the three files, print the counts
    python examples/make_examples.py --answer-key   # also print every record that fails

Writes, next to this script:

- contacts.csv: a HubSpot-like contact export (UTF-8 with a byte order mark, CRLF), with a
  few deliberate problems on known rows and some valid quirks (quoted commas and newlines).
- contacts-cp932.csv: the same records as Excel on Japanese Windows saves them (CP932, CRLF),
  with hand-typed Japanese forms of numbers, dates and booleans on the JP rows.
- contacts.jsonl: the same records as JSON Lines, without the ragged row.
- stage-changes.csv: an event log for the first 120 contacts, one row per stage entered, with
  the record's country and a few field values; four moves are planted problems.

The output is the same on every run. The expected verdicts come from a check of the policy
written by hand below, run on the rows read back from the files, and compared with what the
generator meant to break.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import datetime as dt
import json
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CSV_PATH = HERE / "contacts.csv"
CP932_PATH = HERE / "contacts-cp932.csv"
JSONL_PATH = HERE / "contacts.jsonl"
EVENTS_PATH = HERE / "stage-changes.csv"

SEED = 20251203
# The day the export was taken: use it as --as-of with the example (stays run up to it).
AS_OF = dt.date(2026, 11, 30)
ROWS = 300

STAGES = ("subscriber", "mql", "sql", "meeting_booked", "opportunity", "customer")
STAGE_WEIGHTS = (25, 25, 15, 12, 13, 10)
DATE_COLUMNS = ["contract_signed_at"] + [f"date_entered_{stage}" for stage in STAGES]
COLUMNS = [
    "record_id", "email", "country", "lifecycle_stage", "icp_fit", "engaged_sessions",
    "email_opens", "need", "process", "decision_makers", "meeting_at", "budget", "stakeholder",
    *DATE_COLUMNS,
]  # fmt: skip

# Japan about 40%; a country left blank now and then is normal in a CRM.
COUNTRIES = ("JP", "US", "DE", "GB", "SG", "AU", "")
COUNTRY_WEIGHTS = (40, 22, 12, 12, 7, 6, 1)
UTC_OFFSET = {"JP": 9, "US": -5, "DE": 1, "GB": 0, "SG": 8, "AU": 10, "": 0}
COMPANIES = {
    "JP": ("kobayashi-seiki", "minato-logistics", "sakura-foods"),
    "US": ("acme-analytics", "bluefin-health"),
    "DE": ("nordwerk", "rheinsoft"),
    "GB": ("thames-data", "kestrel-retail"),
    "SG": ("lionport",),
    "AU": ("southbank-energy",),
    "": ("gmail-like",),
}

# Among the records past subscriber, the share with one value broken (about 15% of all rows).
BREAK_RATE = 0.17

# Names are ASCII or CP932-encodable Japanese, so that both files can hold the same text.
# 髙 is one of the NEC/IBM extensions that CP932 has and strict Shift_JIS lacks.
WESTERN = ("Smith", "Jones", "Muller", "Schmidt", "Brown", "Taylor", "Lee", "Tan", "Wong")
GIVEN = ("Anna", "Ben", "Clara", "David", "Emma", "Felix", "Grace", "Henry")
ROMAJI = ("Sato", "Suzuki", "Takahashi", "Tanaka", "Ito", "Watanabe", "Yamamoto", "Kato")
KANJI = ("佐藤", "鈴木", "髙橋", "田中", "伊藤", "渡辺", "山本", "加藤")
KANJI_GIVEN = ("太郎", "花子", "健", "美咲", "翔太", "陽子")
ROMAJI_GIVEN = ("Taro", "Hanako", "Ken", "Misaki", "Shota", "Yoko")
TITLES = ("CFO", "CTO", "VP Sales", "Head of IT", "Procurement")
JP_TITLES = ("部長", "課長", "情報システム部", "経営企画室", "CFO")

Values = dict[str, Any]


@dataclass
class Contact:
    """One exported row, and what the generator did to it."""

    cells: dict[str, str]
    rank: int
    broken: str = ""  # which value the generator broke, in words
    expected: str | None = None  # the stage japan.stage should report first
    note: str = ""  # what was done to this row on purpose: a problem, or a valid quirk
    outcome: str = ""  # the verdict the problem leads to, when it changes the verdict
    ragged: bool = False  # written with the stakeholder's comma unquoted

    @property
    def japan(self) -> bool:
        return self.cells["country"] == "JP"

    @property
    def verdict(self) -> str:
        """The verdict the generator and the problems on this row should lead to."""
        if self.outcome:
            return self.outcome
        return f"not conforming: {self.expected}" if self.expected else "conforming"

    def as_list(self) -> list[str]:
        """The cells as written; a ragged row splits its stakeholder at the comma."""
        cells = [self.cells[column] for column in COLUMNS]
        if self.ragged:
            at = COLUMNS.index("stakeholder")
            cells[at : at + 1] = self.cells["stakeholder"].split(",", 1)
        return cells


# Generating records that meet japan.stage


def make_contact(index: int, record_id: int, rng: random.Random) -> Contact:
    country = rng.choices(COUNTRIES, weights=COUNTRY_WEIGHTS)[0]
    rank = rng.choices(range(len(STAGES)), weights=STAGE_WEIGHTS)[0]
    japan = country == "JP"
    entered = entry_dates(rank, rng, japan)

    values = noise(rank, country, entered, rng)
    make_valid(values, rank, country, entered, rng)
    contact = Contact({}, rank)
    if rank > 0 and rng.random() < BREAK_RATE:
        # A step of the ladder first, then a way to break it, so high stages get their share.
        step = rng.randint(1, rank)
        broken = rng.choice([b for b in BREAKS if b.step == step and (japan or not b.japan)])
        values[broken.field] = broken.change(values[broken.field])
        contact.broken, contact.expected = broken.name, broken.reported

    contact.cells = render(index, record_id, country, rank, values, entered, rng)
    return contact


def entry_dates(rank: int, rng: random.Random, japan: bool) -> list[dt.date]:
    """The day the contact entered each stage up to its own, increasing along the ladder.

    Japanese contacts move slower where the seed says they do: MQL to SQL takes two to four
    times as long (more research before speaking to a vendor), and an Opportunity sits about
    four times as long while the buyer's ringi approval circulates.
    """
    offset = rng.randint(0, 450)
    day = dt.date(2024, 1, 8) + dt.timedelta(days=offset)
    days = [day]
    for step in range(1, rank + 1):
        gap = rng.randint(2, 45)
        if japan:
            gap *= JAPAN_SLOWER.get(step, lambda g: 1)(gap)
        day += dt.timedelta(days=gap)
        days.append(day)
    # An export is taken on a day: the stay in the current stage began 0 to 119 days before
    # it, so that some records are within the policy's expected dwell and some have stalled.
    shift = AS_OF - dt.timedelta(days=offset % 120) - days[-1]
    return [day + shift for day in days]


# For the step into each stage (2: into SQL, so the stay in MQL), how many times longer a
# Japanese contact takes; the factor comes from the gap itself, so no random draw is added
# and the rest of the file stays as it was.
JAPAN_SLOWER: dict[int, Callable[[int], int]] = {
    2: lambda gap: 2 + gap % 3,
    3: lambda gap: 1 + gap % 2,
    5: lambda gap: 4,
}


def noise(rank: int, country: str, entered: list[dt.date], rng: random.Random) -> Values:
    """Values for fields the record's stage does not read: mostly empty, some odd.

    A checker that looked at stages above the record's own would trip over them.
    """
    later = entered[-1] + dt.timedelta(days=rng.randint(1, 20))
    return {
        "icp_fit": rng.choice((None, None, True, False)),
        "engaged_sessions": rng.choice((None, 0, 0, 1, 2)),
        "need": rng.choice((None, None, None, True, False)),
        "process": rng.choice((None, None, None, True, False)),
        "decision_makers": names(country, rng, rng.choice((0, 0, 0, 1))),
        "meeting_at": meeting(later, country, rng) if rng.random() < 0.08 else None,
        "budget": rng.choice((None, None, None, None, Decimal(0))),
        "stakeholder": stakeholder(country, rng) if rng.random() < 0.08 else None,
        "contract_signed_at": None,
    }


def make_valid(
    values: Values, rank: int, country: str, entered: list[dt.date], rng: random.Random
) -> None:
    """Meet every criterion up to the record's stage, some of them exactly at the threshold."""
    japan = country == "JP"
    if rank >= 1:
        values["icp_fit"] = True
        values["engaged_sessions"] = rng.choice((3 if japan else 1, rng.randint(3, 40)))
    if rank >= 2:
        values["need"] = values["process"] = True
        values["decision_makers"] = names(country, rng, rng.randint(2 if japan else 1, 4))
    if rank >= 3:
        values["meeting_at"] = meeting(entered[3], country, rng)
    if rank >= 4:
        values["stakeholder"] = stakeholder(country, rng)
        values["budget"] = budget(japan, rng)
    if rank >= 5:
        values["contract_signed_at"] = entered[5]


def names(country: str, rng: random.Random, count: int) -> list[str]:
    if country != "JP":
        return rng.sample(WESTERN, count)
    return rng.sample(KANJI if rng.random() < 0.5 else ROMAJI, count)


def meeting(booked: dt.date, country: str, rng: random.Random) -> dt.datetime:
    """A meeting in local business hours, a few days after it was booked, in UTC."""
    local = dt.datetime.combine(booked, dt.time(9)) + dt.timedelta(
        days=rng.randint(1, 12), minutes=15 * rng.randint(0, 32)
    )
    return local - dt.timedelta(hours=UTC_OFFSET[country])


def stakeholder(country: str, rng: random.Random) -> str:
    # Some names carry a comma ("Sato, Taro (CFO)"), which the export must quote.
    if country == "JP" and rng.random() < 0.5:
        name = rng.choice(KANJI)
        if rng.random() < 0.5:
            return f"{name} ({rng.choice(JP_TITLES)})"
        return f"{name} {rng.choice(KANJI_GIVEN)}（{rng.choice(JP_TITLES)}）"
    family = rng.choice(ROMAJI if country == "JP" else WESTERN)
    given = rng.choice(ROMAJI_GIVEN if country == "JP" else GIVEN)
    if rng.random() < 0.2:
        return f"{family}, {given} ({rng.choice(TITLES)})"
    return f"{given} {family} ({rng.choice(TITLES)})"


def budget(japan: bool, rng: random.Random) -> Decimal:
    # Yen budgets are whole amounts, so the "￥1,200,000" of the CP932 file is the same number.
    if japan:
        return Decimal(rng.randint(30, 3000) * 10_000)
    return Decimal(rng.randint(50_000, 25_000_000)) / 100


@dataclass(frozen=True)
class Break:
    """One value changed so that one criterion of the ladder fails."""

    name: str
    step: int  # the lowest stage rank whose records can have it
    field: str
    change: Callable[[Any], Any]
    reported: str  # the stage japan.stage reports it at: an `exit when` belongs to the stage below
    japan: bool = False  # possible only in Japan, where the thresholds are higher


BREAKS = (
    Break("icp_fit false", 1, "icp_fit", lambda _: False, "mql"),
    Break("icp_fit empty", 1, "icp_fit", lambda _: None, "mql"),
    Break("no engaged sessions", 1, "engaged_sessions", lambda _: 0, "subscriber"),
    Break("engaged_sessions empty", 1, "engaged_sessions", lambda _: None, "subscriber"),
    Break("1 session in Japan", 1, "engaged_sessions", lambda _: 1, "mql", japan=True),
    Break("2 sessions in Japan", 1, "engaged_sessions", lambda _: 2, "mql", japan=True),
    Break("need empty", 2, "need", lambda _: None, "mql"),
    Break("need false", 2, "need", lambda _: False, "sql"),
    Break("process false", 2, "process", lambda _: False, "sql"),
    Break("no decision makers", 2, "decision_makers", lambda _: [], "sql"),
    Break("one decision maker in Japan", 2, "decision_makers", lambda v: v[:1], "sql", True),
    Break("meeting_at empty", 3, "meeting_at", lambda _: None, "sql"),
    Break("stakeholder empty", 4, "stakeholder", lambda _: None, "meeting_booked"),
    Break("budget empty", 4, "budget", lambda _: None, "opportunity"),
    Break("budget zero", 4, "budget", lambda _: Decimal(0), "opportunity"),
    Break("contract_signed_at empty", 5, "contract_signed_at", lambda _: None, "opportunity"),
)


def render(
    index: int,
    record_id: int,
    country: str,
    rank: int,
    values: Values,
    entered: list[dt.date],
    rng: random.Random,
) -> dict[str, str]:
    """The row as HubSpot exports it: lower-case booleans, ISO dates, UTC times with Z."""
    cells = {
        "record_id": str(record_id),
        "email": email(index, country, rng),
        "country": country,
        "lifecycle_stage": STAGES[rank],
        "email_opens": "" if rng.random() < 0.05 else str(rng.randint(0, 80)),
    }
    for name, value in values.items():
        cells[name] = text(value)
    for stage_rank, stage in enumerate(STAGES):
        # The draw that once left a few dates unstamped is kept, so that the other values
        # stay as they were; every stage reached is now dated (the policy binds the columns).
        stamped = stage_rank <= rank
        if stamped:
            rng.random()
        cells[f"date_entered_{stage}"] = entered[stage_rank].isoformat() if stamped else ""
    return {column: cells[column] for column in COLUMNS}


def email(index: int, country: str, rng: random.Random) -> str:
    if rng.random() < 0.01:
        return ""
    family = rng.choice(ROMAJI if country == "JP" else WESTERN).lower()
    return f"{family}.{index}@{rng.choice(COMPANIES[country])}.example"


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def generate() -> list[Contact]:
    rng = random.Random(SEED)
    contacts = []
    record_id = 51_204_000
    for index in range(ROWS):
        record_id += rng.randint(1, 40)  # ids of deleted and merged contacts leave gaps
        contacts.append(make_contact(index, record_id, rng))
    return contacts


# Valid quirks and deliberate problems on known rows


def pick(contacts: list[Contact], start: int, want: Callable[[Contact], bool]) -> Contact:
    """The first untouched contact from `start` on that the generator left conforming."""
    for contact in contacts[start:]:
        if not contact.broken and not contact.note and want(contact):
            return contact
    raise LookupError(f"no suitable contact after row {start}")


def add_quirks(contacts: list[Contact]) -> None:
    """Multi-line stakeholders: a CRM text area keeps its line breaks, and CSV allows them."""
    notes = (
        "Jones, Mary (CFO)\nsigns off budgets over 10M",
        "Taylor, Grace (Procurement)\napproves via ringi\nafter the board meeting",
    )
    for start, note in zip((60, 190), notes, strict=True):
        contact = pick(contacts, start, lambda c: c.rank >= 4 and not c.japan)
        contact.cells["stakeholder"] = note
        contact.note = "valid quirk: quoted stakeholder with a comma and line breaks"


def add_problems(contacts: list[Contact]) -> None:
    """The problems a real export has, each on one known row of an otherwise good record."""
    evangelist = pick(contacts, 30, lambda c: c.rank == 2)
    evangelist.cells["lifecycle_stage"] = "evangelist"
    evangelist.note = 'lifecycle_stage "evangelist" is not a stage'
    evangelist.outcome = "not conforming: no known stage"

    blank = pick(contacts, 100, lambda c: c.rank == 1 and c.japan)
    blank.cells["lifecycle_stage"] = ""
    blank.note = "lifecycle_stage is empty"
    blank.outcome = "not conforming: no known stage"

    first = pick(contacts, 40, lambda c: c.rank == 3 and c.cells["email"] != "")
    again = pick(contacts, 210, lambda c: c.rank == 1)
    again.cells["record_id"], again.cells["email"] = first.cells["record_id"], first.cells["email"]
    again.note = f"record_id {first.cells['record_id']} repeated"
    first.note = f"record_id {first.cells['record_id']} (first of two rows)"

    tbd = pick(contacts, 150, lambda c: c.rank == 4 and not c.japan)
    tbd.cells["budget"] = "TBD"
    tbd.note = 'budget "TBD" is not a number'
    tbd.outcome = 'unreadable: budget = "TBD" cannot be read'

    ragged = pick(contacts, 240, lambda c: c.rank == 5 and not c.japan)
    ragged.cells["stakeholder"] = "Brown, Alice (CFO)"
    ragged.ragged = True
    ragged.note = 'ragged: unquoted comma in stakeholder "Brown, Alice (CFO)"'
    ragged.outcome = f"unreadable: {len(COLUMNS) + 1} cells, the header has {len(COLUMNS)}"


# The hand-touched CP932 copy


FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
DATE_STYLES = ("iso", "padded", "excel", "kanji")


def japanese_quirks(cells: dict[str, str], rng: random.Random) -> dict[str, str]:
    """A JP row as someone on Japanese Windows retyped parts of it in Excel."""
    out = dict(cells)
    if out["engaged_sessions"] and rng.random() < 0.4:
        out["engaged_sessions"] = out["engaged_sessions"].translate(FULL_WIDTH)
    if rng.random() < 0.25:
        for column in ("icp_fit", "need", "process"):
            out[column] = {"true": "はい", "false": "いいえ"}.get(out[column], out[column])
    if out["budget"] and Decimal(out["budget"]) > 0:
        out["budget"] = yen(Decimal(out["budget"]), rng)
    style = rng.choices(DATE_STYLES, weights=(3, 3, 3, 2))[0]
    for column in DATE_COLUMNS:
        out[column] = japanese_date(out[column], style)
    out["meeting_at"] = japanese_datetime(out["meeting_at"], style)
    return out


def yen(amount: Decimal, rng: random.Random) -> str:
    # CP932 has no U+00A5. Typed by hand, the yen sign is the full-width ￥. Excel's currency
    # format writes byte 0x5C, which a Japanese font shows as ¥ and Python decodes as "\".
    sign = rng.choices(("￥", "", "\\"), weights=(14, 4, 2))[0]
    return f"{sign}{int(amount):,}"


def japanese_date(iso: str, style: str) -> str:
    if not iso or style == "iso":
        return iso
    day = dt.date.fromisoformat(iso)
    if style == "padded":
        return day.strftime("%Y/%m/%d")
    if style == "excel":
        return f"{day.year}/{day.month}/{day.day}"
    return f"{day.year}年{day.month}月{day.day}日"


def japanese_datetime(iso: str, style: str) -> str:
    # Without an offset the time is read in --timezone (UTC by default): the same instant.
    if not iso or style == "iso":
        return iso
    moment = dt.datetime.fromisoformat(iso)
    if style == "excel":
        return f"{moment.year}/{moment.month}/{moment.day} {moment.hour}:{moment.minute:02}"
    return moment.strftime("%Y/%m/%d %H:%M")


def canonical(column: str, value: str) -> str:
    """A CP932 cell in the form contacts.csv has it, to prove both mean the same."""
    if column in ("engaged_sessions", "budget"):
        value = unicodedata.normalize("NFKC", value)  # full-width digits and ￥
        if column == "budget" and value and value != "TBD":
            amount = Decimal(value.lstrip("¥\\").replace(",", ""))
            value = f"{amount:.2f}"
    elif column in ("icp_fit", "need", "process"):
        value = {"はい": "true", "いいえ": "false"}.get(value, value)
    elif column in DATE_COLUMNS and value:
        year, month, day = re.fullmatch(r"(\d{4})[-/年](\d\d?)[-/月](\d\d?)日?", value).groups()
        value = dt.date(int(year), int(month), int(day)).isoformat()
    elif column == "meeting_at" and "/" in value:
        moment = dt.datetime.strptime(value, "%Y/%m/%d %H:%M")
        value = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


# Writing the files


def write_csv(path: Path, rows: list[list[str]], encoding: str) -> None:
    # Excel ends rows with CRLF; a line break inside a quoted cell stays a bare LF.
    with path.open("w", encoding=encoding, newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows)


def write_jsonl(path: Path, contacts: list[Contact]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for contact in contacts:
            if not contact.ragged:
                out.write(json.dumps(contact.cells, ensure_ascii=False) + "\n")


def write_all(contacts: list[Contact]) -> None:
    write_csv(CSV_PATH, [c.as_list() for c in contacts], "utf-8-sig")
    rng = random.Random(SEED + 1)  # its own stream, so retouching never changes contacts.csv
    touched = [
        Contact(japanese_quirks(c.cells, rng), c.rank, ragged=c.ragged)
        if c.japan and not c.note
        else c
        for c in contacts
    ]
    write_csv(CP932_PATH, [c.as_list() for c in touched], "cp932")
    write_jsonl(JSONL_PATH, contacts)


# Reading them back, and a check of japan.stage written by hand


@dataclass
class Row:
    line: int  # where the row starts, as a text editor numbers lines
    cells: list[str]


def read_csv(path: Path, encoding: str) -> list[Row]:
    with path.open(encoding=encoding, newline="") as source:
        reader = csv.reader(source)
        assert next(reader) == COLUMNS
        rows, line = [], 2
        for cells in reader:
            rows.append(Row(line, cells))
            line = reader.line_num + 1
    return rows


class Unreadable(ValueError):
    pass


def typed(cells: dict[str, str]) -> Values:
    """The policy's fields as typed values; empty text is missing."""
    parsers: dict[str, Callable[[str], Any]] = {
        "icp_fit": read_bool,
        "need": read_bool,
        "process": read_bool,
        "engaged_sessions": int,
        "budget": Decimal,
        "decision_makers": lambda v: [name for name in v.split(";") if name],
        "meeting_at": dt.datetime.fromisoformat,
        "contract_signed_at": dt.date.fromisoformat,
    }
    record: Values = {name: value or None for name, value in cells.items()}
    for name, parse in parsers.items():
        if cells[name]:
            try:
                record[name] = parse(cells[name])
            except (ValueError, InvalidOperation) as error:
                raise Unreadable(f'{name} = "{cells[name]}" cannot be read') from error
    return record


def read_bool(value: str) -> bool:
    if value not in ("true", "false"):
        raise ValueError(value)
    return value == "true"


def first_failure(r: Values) -> str | None:
    """japan.stage by hand: the lowest stage with a criterion the record does not meet."""
    rank = STAGES.index(r["lifecycle_stage"])
    japan = r["country"] == "JP"
    sessions = r["engaged_sessions"]
    steps: list[tuple[int, str, bool]] = [
        (1, "subscriber", sessions is not None and sessions >= 1),
        (1, "mql", r["icp_fit"] is True and (not japan or (sessions or 0) >= 3)),
        (2, "mql", r["need"] is not None),
        (2, "sql", r["need"] is True and r["process"] is True and bool(r["decision_makers"])),
        (2, "sql", not japan or len(r["decision_makers"] or []) >= 2),
        (3, "sql", r["meeting_at"] is not None),
        (4, "meeting_booked", r["stakeholder"] is not None),
        (4, "opportunity", r["budget"] is not None and r["budget"] > 0),
        (5, "opportunity", r["contract_signed_at"] is not None),
    ]
    return next((stage for step, stage, met in steps if step <= rank and not met), None)


def judge(cells: list[str]) -> str:
    """ "conforming", "unreadable: why", or "not conforming: first failing stage"."""
    if len(cells) != len(COLUMNS):
        return f"unreadable: {len(cells)} cells, the header has {len(COLUMNS)}"
    try:
        record = typed(dict(zip(COLUMNS, cells, strict=True)))
    except Unreadable as error:
        return f"unreadable: {error}"
    if record["lifecycle_stage"] not in STAGES:
        return "not conforming: no known stage"
    failure = first_failure(record)
    return "conforming" if failure is None else f"not conforming: {failure}"


# Checking the files against each other and against the generator


def verify(contacts: list[Contact], rows: list[Row]) -> None:
    """Stop with an AssertionError if the three files do not hold the same records."""
    assert CSV_PATH.read_bytes().startswith(codecs.BOM_UTF8)
    for path in (CSV_PATH, CP932_PATH):
        data = path.read_bytes()
        # Every row ends in CRLF, and no CR stands anywhere else.
        assert data.count(b"\r\n") == data.count(b"\r") == len(rows) + 1

    cp932 = read_csv(CP932_PATH, "cp932")
    assert [row.line for row in cp932] == [row.line for row in rows]
    assert [same_meaning(row.cells) for row in cp932] == [row.cells for row in rows]

    with JSONL_PATH.open(encoding="utf-8") as lines:
        objects = [json.loads(line) for line in lines]
    assert objects == [dict(zip(COLUMNS, row.cells, strict=True)) for row in rows if whole(row)]

    for contact, row in zip(contacts, rows, strict=True):
        assert judge(row.cells) == contact.verdict, (row.line, contact.broken, judge(row.cells))
    # Another seed could leave a kind of break out; the examples should show every one.
    assert {b.name for b in BREAKS} == {c.broken for c in contacts if c.broken}


def same_meaning(cells: list[str]) -> list[str]:
    if len(cells) != len(COLUMNS):
        return cells  # the ragged row is left as it is in both files
    return [canonical(column, value) for column, value in zip(COLUMNS, cells, strict=True)]


def whole(row: Row) -> bool:
    return len(row.cells) == len(COLUMNS)


# What the script prints: the expected counts, the problem rows, and the answer key


def detail(verdict: str) -> str:
    return verdict.partition(": ")[2]


def summary(name: str, verdicts: list[str]) -> str:
    kinds = Counter(verdict.partition(":")[0] for verdict in verdicts)
    return (
        f"{name}: {len(verdicts)} records, {kinds['conforming']} conforming, "
        f"{kinds['not conforming']} not conforming, {kinds['unreadable']} unreadable"
    )


def report(contacts: list[Contact], rows: list[Row], answer_key: bool) -> None:
    verdicts = [judge(row.cells) for row in rows]
    jsonl_verdicts = [v for v, row in zip(verdicts, rows, strict=True) if whole(row)]
    print(summary("contacts.csv, contacts-cp932.csv", verdicts))
    print(summary("contacts.jsonl", jsonl_verdicts))
    failing = Counter(detail(v) for v in verdicts if v.startswith("not"))
    print("first failing stage:", ", ".join(f"{stage} {n}" for stage, n in failing.items()))
    print_retouched(rows)

    print("\n| CSV line | JSONL line | record_id | on purpose | verdict |\n|---|---|---|---|---|")
    jsonl_line = 0
    for contact, row, verdict in zip(contacts, rows, verdicts, strict=True):
        jsonl_line += whole(row)
        if contact.note:
            where = str(jsonl_line) if whole(row) else "-"
            print(f"| {row.line} | {where} | {row.cells[0]} | {contact.note} | {verdict} |")
    if answer_key:
        print_answer_key(contacts, rows, verdicts)


def print_retouched(rows: list[Row]) -> None:
    """How many cells of each column the CP932 copy writes differently, and where 0x5C is."""
    changed: Counter[str] = Counter()
    backslash = []
    for utf8, touched in zip(rows, read_csv(CP932_PATH, "cp932"), strict=True):
        for column, before, after in zip(COLUMNS, utf8.cells, touched.cells, strict=False):
            changed[column] += before != after
        if touched.cells[COLUMNS.index("budget")].startswith("\\"):
            backslash.append(touched.line)
    print(
        "CP932 cells written differently:", ", ".join(f"{c} {n}" for c, n in changed.items() if n)
    )
    print("budgets written with byte 0x5C (decodes as a backslash): lines", backslash)


def print_answer_key(contacts: list[Contact], rows: list[Row], verdicts: list[str]) -> None:
    print("\n| CSV line | record_id | country | stage | broken | first failing stage |")
    print("|---|---|---|---|---|---|")
    for contact, row, verdict in zip(contacts, rows, verdicts, strict=True):
        if contact.broken:
            cells = contact.cells
            print(
                f"| {row.line} | {cells['record_id']} | {cells['country']} | "
                f"{cells['lifecycle_stage']} | {contact.broken} | {detail(verdict)} |"
            )


# The event log


EVENT_COLUMNS = ["record_id", "lifecycle_stage", "timestamp", "country", "icp_fit", "need"]
EVENT_CONTACTS = 120


def write_events(contacts: list[Contact]) -> list[str]:
    """stage-changes.csv from the contacts' entered dates; returns the planted problems.

    Each row is a stage entered, at a business hour of the contact's own day, with the values
    the contact holds now (a log of what the CRM knew then would differ only for broken ones).
    """
    rng = random.Random(SEED + 1)
    rows: list[list[str]] = []
    planted: list[str] = []
    for contact in contacts[:EVENT_CONTACTS]:
        cells = contact.cells
        if contact.ragged or cells["lifecycle_stage"] not in STAGES:
            continue
        events = []
        for stage in STAGES[: STAGES.index(cells["lifecycle_stage"]) + 1]:
            day = cells[f"date_entered_{stage}"]
            if day:
                events.append(
                    [stage, f"{day}T{rng.randint(0, 8):02}:{rng.choice(('00', '30'))}:00Z"]
                )
        events = plant(cells["record_id"], events, len(rows), planted)
        for stage, moment in events:
            values = [cells["country"], cells["icp_fit"], cells["need"]]
            rows.append([cells["record_id"], stage, moment, *values])
    with EVENTS_PATH.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(EVENT_COLUMNS)
        writer.writerows(rows)
    return planted


def plant(
    record_id: str, events: list[list[str]], written: int, planted: list[str]
) -> list[list[str]]:
    """Break a few records' histories in the ways the policy forbids (and one it allows)."""
    stages = [stage for stage, _ in events]
    if len(planted) == 0 and len(stages) >= 3:
        planted.append(f"{record_id}: skipped mql (SL510)")
        return [e for e in events if e[0] != "mql"]
    if len(planted) == 1 and stages[-1:] == ["opportunity"]:
        later = next_day(events[-1][1], 40)
        planted.append(f"{record_id}: back from opportunity to mql (SL511)")
        return [*events, ["mql", later]]
    if len(planted) == 2 and stages[-1:] == ["opportunity"]:
        later = next_day(events[-1][1], 50)
        planted.append(f"{record_id}: back from opportunity to sql, allowed (no finding)")
        return [*events, ["sql", later]]
    if len(planted) == 3 and len(stages) >= 3:
        planted.append(f"{record_id}: an event out of time order (SL518)")
        return [events[0], events[2], events[1], *events[3:]]
    return events


def next_day(moment: str, days: int) -> str:
    when = dt.datetime.fromisoformat(moment.replace("Z", "+00:00")) + dt.timedelta(days=days)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answer-key", action="store_true", help="print every broken record")
    arguments = parser.parse_args()

    contacts = generate()
    add_quirks(contacts)
    add_problems(contacts)
    write_all(contacts)
    planted = write_events(contacts)
    print("stage-changes.csv, planted:", "; ".join(planted))

    rows = read_csv(CSV_PATH, "utf-8-sig")
    verify(contacts, rows)
    report(contacts, rows, arguments.answer_key)


if __name__ == "__main__":
    main()
