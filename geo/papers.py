"""What makes a review an issued paper: the issuing unit, the document number, the date.

A bureau's 审查意见 and 审查报告 carry a document number (文号) such as
``济自然资审〔2026〕第12号`` — 发文机关代字, the year in 六角括号, a sequence number
(GB/T 9704-2012《党政机关公文格式》7.2.4) — and a date in Beijing time. The service keeps
the sequence in its database (:func:`document_number`): each review gets one number the
first time a paper of it is issued, the same number every time after, and numbers run
per year without gaps or doubles even when requests race. A paper made without a database
(the CLI) is a draft and says so (:meth:`DocumentNumber.draft`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

from sqlalchemy import Column, DateTime, Engine, Integer, String, Table, UniqueConstraint, select

from geo.db import insert_ignoring_duplicates, metadata
from geo.errors import LantuError

NUMBER_LABEL = "审查编号"  # how both papers label the document number (the service's id is 系统记录号)
BEIJING = timezone(timedelta(hours=8), "北京时间")  # China keeps no daylight saving: a fixed UTC+8
PLACEHOLDER_UNIT = "（审查单位）"


def beijing_today() -> date:
    """Today where the city is: a server on UTC is still on yesterday until 08:00 Beijing time."""
    return datetime.now(BEIJING).date()


document_numbers = Table(
    "document_numbers",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("review_id", String(64), nullable=False),
    Column("issued", DateTime(timezone=True), nullable=False),
    UniqueConstraint("review_id", name="uq_document_numbers_review"),
)


@dataclass(frozen=True)
class Issuer:
    """Who issues the papers: the service's settings (``LANTU_ISSUER_*``) or the CLI's context.

    ``code`` is the 发文机关代字 before the year; ``template`` picks the opinion's wording
    (``layers/opinions/<template>.yaml``, or the data directory's); ``signer`` and ``reviewer``
    fill the signature block, blank lines when not set.
    """

    unit: str = PLACEHOLDER_UNIT
    code: str = ""
    template: str = "default"
    signer: str | None = None
    reviewer: str | None = None


@dataclass(frozen=True)
class DocumentNumber:
    """``{code}〔{year}〕第{seq}号``; a draft (no database) has no sequence and says so."""

    year: int
    seq: int | None
    issued: datetime
    code: str = ""

    @classmethod
    def draft(cls, issuer: Issuer, now: datetime | None = None) -> DocumentNumber:
        issued = (now or datetime.now(UTC)).astimezone(BEIJING)
        return cls(issued.year, None, issued, issuer.code)

    @property
    def is_draft(self) -> bool:
        return self.seq is None

    @property
    def text(self) -> str:
        if self.seq is None:
            return f"{self.code}〔{self.year}〕第　号（草稿，未编号）"
        return f"{self.code}〔{self.year}〕第{self.seq}号"

    @property
    def labelled(self) -> str:
        """审查编号：济自然资审〔2026〕第12号 — the line under the title of the report and the 审查意见."""
        return f"{NUMBER_LABEL}：{self.text}"

    @property
    def date_zh(self) -> str:
        """The paper's date as a Chinese document writes it (2026年12月2日), in Beijing time."""
        return date_zh(self.issued)


def beijing(moment: datetime | str) -> datetime:
    """``moment`` (ISO text or aware datetime; naive means UTC, as results store it) in Beijing time."""
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(BEIJING)


def date_zh(moment: datetime | str) -> str:
    value = beijing(moment)
    return f"{value.year}年{value.month}月{value.day}日"


def time_zh(moment: datetime | str) -> str:
    """Date and minute in Beijing time, labelled (a reader elsewhere must not take it for local time)."""
    value = beijing(moment)
    return f"{date_zh(value)} {value:%H:%M}（北京时间）"


class DocumentNumberError(LantuError):
    """The sequence could not be advanced (a storage fault, never a user error)."""


def document_number(engine: Engine, review_id: str, issuer: Issuer, *, now: datetime | None = None) -> DocumentNumber:
    """The review's document number: the one it already has, else the next of the current year.

    Two requests racing for the same next number both insert; the primary key (year, seq)
    lets one through and the other retries with the next; the unique review id makes a
    review's second request read the number its first one got.
    """
    issued = (now or datetime.now(UTC)).astimezone(BEIJING)
    table = document_numbers
    for _ in range(20):
        # SQLite: take the write lock at BEGIN, so a read-then-insert never deadlocks on the upgrade
        with engine.connect().execution_options(lantu_immediate=True) as conn, conn.begin():
            row = conn.execute(
                select(table.c.year, table.c.seq, table.c.issued).where(table.c.review_id == review_id)
            ).first()
            if row is not None:
                return DocumentNumber(row.year, row.seq, beijing(row.issued), issuer.code)
            last = conn.execute(select(table.c.seq).where(table.c.year == issued.year).order_by(table.c.seq.desc()))
            top = last.scalar()
            conn.execute(
                insert_ignoring_duplicates(conn, table).values(
                    year=issued.year, seq=(top or 0) + 1, review_id=review_id, issued=issued.astimezone(UTC)
                )
            )
    raise DocumentNumberError(
        f"could not assign a document number to review {review_id!r}",
        f"未能为审查记录 {review_id!r} 分配文号",
    )
