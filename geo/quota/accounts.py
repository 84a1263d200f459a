"""The ledger's vocabulary: factors, holders, amounts and postings (no database here).

An account is keyed by (factor, holder, bucket, year). Holders are the city pool
(``city``), registered counties (their 行政区划代码), projects (``project:<id>``) and
the outside world (``external:<source>``), where quota enters the city's books.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final, Literal

from geo.errors import InputError
from geo.papers import beijing_today

FACTORS: Final[dict[str, tuple[str, str]]] = {
    "land_new": ("新增建设用地计划指标", "m²"),
    "land_compensation": ("占补平衡指标（数量，含水田）", "m²"),
    "land_compensation_paddy": ("占补平衡指标（其中水田）", "m²"),
    "land_compensation_grain": ("占补平衡指标（粮食产能）", "kg"),
    "energy": ("能耗指标", "吨标准煤"),
    "cod": ("化学需氧量", "吨"),
    "nh3n": ("氨氮", "吨"),
    "so2": ("二氧化硫", "吨"),
    "nox": ("氮氧化物", "吨"),
}
CITY: Final = "city"
PROVINCE: Final = "external:province"
POINT_SUPPLY: Final = "external:point_supply"
REWARD: Final = "external:stock_reward"
REDUCTION: Final = "external:reduction"  # pollutant 削减量 (关停替代、治理项目)
POLLUTANTS: Final = ("cod", "nh3n", "so2", "nox")
# what approves each family of factors (批准: reserved becomes approved), its factors and the reason the
# journal says: the 用地批复 the land (济宁 济政办字〔2020〕52号 三（一）5), the county's 生态环境 bureau the
# pollutants' 总量替代 (三（三）1 "由县级生态环境主管部门对其总量替代指标进行确认"), the 节能审查 the energy
# (三（二）): a land approval approved a project's COD and energy too (an officer's read)
CONFIRMED_BY: Final[dict[str, tuple[str, tuple[str, ...], str]]] = {  # family: (its name, its factors, reason)
    "land": (
        "用地",
        ("land_new", "land_compensation", "land_compensation_paddy", "land_compensation_grain"),
        "项目用地批准",
    ),
    "pollutants": (
        "污染物排放总量",
        POLLUTANTS,
        "总量替代指标确认（县级生态环境主管部门：济政办字〔2020〕52号 三（三）1）",
    ),
    "energy": ("能耗", ("energy",), "节能审查意见（能耗指标确认）"),
}
# the stock land of 增存挂钩 (the blueprint's layer ids) and the disposals each admits: 供地 ends 批而未供
# (闲置 land was supplied already); 收回 and 盘活 (动工开发、转让、再开发) apply to both
STOCK_KINDS: Final = {"approved_unsupplied": "批而未供", "idle_land": "闲置"}
DISPOSALS: Final = {"供地": ("approved_unsupplied",), "收回": tuple(STOCK_KINDS), "盘活": tuple(STOCK_KINDS)}
EXTERNAL_PREFIX: Final = "external:"
PROJECT_PREFIX: Final = "project:"
ZERO: Final = Decimal(0)
# m², t or tce in one amount, and in any balance (:data:`geo.quota.tables.AMOUNT_LIMIT`): exact on SQLite's doubles
# (below 2**39), 100 times a province's yearly quota (about 10**9 m²)
MAX_AMOUNT: Final = 10**11
MAX_PRICE_WAN: Final = 10**8  # 万元 (1 万亿元, more than a city's GDP): a 有偿调剂 price beyond it is a typo
PLAN_YEARS: Final = (2000, 2100)  # the plan years (年度) the API and the CLI accept

Bucket = Literal["available", "reserved", "approved", "earmarked"]
HolderKind = Literal["city", "county", "project", "external"]
Key = tuple[str, str, str, int]  # factor, holder, bucket, year


def amount(value: float | Decimal) -> Decimal:
    """A quota amount rounded to the ledger's four decimals; InputError for what is no number (text, None, a bool:
    ``Decimal(str(…))`` raised its own InvalidOperation, and read "1_5" as 15), NaN, an infinity or one beyond
    :data:`MAX_AMOUNT` either way (no column holds it, no county needs it)."""
    if not is_number(value):
        raise InputError(f"amount {value!r} is not a number", f"数量 {value!r} 不是数字")
    number = Decimal(str(value))
    if not number.is_finite() or number.copy_abs() > MAX_AMOUNT:  # copy_abs: abs() overflows at 1e999999999
        raise InputError(
            f"amount {value} is not a finite number within ±{MAX_AMOUNT:,}",
            f"数量 {value} 须为 ±{MAX_AMOUNT:,} 以内的有限数",
        )
    return number.quantize(Decimal("0.0001"))


def is_number(value: object) -> bool:
    """Whether ``value`` is a real number (a bool is none: True was booked as 1)."""
    return isinstance(value, numbers.Real | Decimal) and not isinstance(value, bool)


def plan_year(year: int) -> int:
    """``year`` as a plan year (年度) the ledger books and reads, :data:`PLAN_YEARS` as the API and the CLI take them;
    else an InputError: year 0, 9999 or 2026.5 was booked on accounts no report reaches, a year beyond an Integer
    column was the database's error (PostgreSQL's "integer out of range", SQLite's OverflowError), and "2026" a
    KeyError."""
    first, last = PLAN_YEARS
    if isinstance(year, bool) or not isinstance(year, numbers.Integral) or not first <= year <= last:
        raise InputError(
            f"plan year {year!r} is not a year from {first} to {last}",
            f"年度 {year!r} 须为 {first}—{last} 年之间的整数年份",
        )
    return int(year)


def positive_amount(value: float | Decimal, unit: str, what: tuple[str, str] = ("amount", "数量")) -> Decimal:
    """:func:`amount` of what a movement moves, which must be positive at the ledger's four decimals: an InputError
    (English, Chinese, naming ``what`` and ``unit``) for one at or below zero, or one that rounds to 0 (1e-05 m² is
    positive, and nothing once held to 0.0001)."""
    number = amount(value)
    if number > 0:
        return number
    en, zh = what
    if Decimal(str(value)) > 0:
        raise InputError(
            f"{en}: {value} {unit} rounds to 0 at the ledger's four decimals (the smallest is 0.0001 {unit})",
            f"{zh}：{value} {unit} 按台账保留四位小数后为 0（最小为 0.0001 {unit}）",
        )
    raise InputError(f"{en}: {value} {unit} must be positive", f"{zh}：{value} {unit} 须为正数")


def price(value: float | Decimal) -> Decimal:
    """A 有偿调剂 price (万元) as the journal keeps it, four decimals; InputError for NaN, an infinity, one beyond
    :data:`MAX_PRICE_WAN` or one that rounds to 0 (a paid transfer at 0.0 万元 is no paid transfer), and for what is
    no number (:func:`amount`)."""
    number = Decimal(str(value)) if is_number(value) else None
    if (
        number is None
        or not number.is_finite()
        or not 0 < number <= MAX_PRICE_WAN
        or not number.quantize(Decimal("0.0001"))
    ):
        raise InputError(
            f"the price {value} 万元 of a paid transfer must be positive (at least 0.0001) and at most "
            f"{MAX_PRICE_WAN:,} 万元",
            f"有偿调剂价格 {value} 万元须为正数（不小于 0.0001）且不超过 {MAX_PRICE_WAN:,} 万元",
        )
    return number.quantize(Decimal("0.0001"))


def movement_date(
    when: date, what: tuple[str, str], *, happened: bool = False, ahead: tuple[str, str] | None = None
) -> date:
    """``when`` as a movement may record it, else an InputError naming ``what`` (English, Chinese).

    A fact that ``happened`` (a disposal: the 处置完成量 earns new quota, 济政办字〔2020〕52号 三、(一)4)
    is not dated after today, Beijing time: it is recorded once done. A date to come (a loan's due
    date, a reduction advance's deadline) lies within the plan years (:data:`PLAN_YEARS`): 9999-12-31
    is a typo, and a loan due then would never be overdue; one ``ahead`` (why, English and Chinese) is today or
    later, never overdue the moment it is recorded.
    """
    en, zh = what
    if happened:
        today = beijing_today()
        if when > today:
            raise InputError(
                f"{en} {when.isoformat()} is after today ({today.isoformat()}, Beijing time): "
                "only what has happened is recorded",
                f"{zh} {when.isoformat()} 晚于今天（{today.isoformat()}），只能登记已经发生的事项",
            )
        return when
    first, last = PLAN_YEARS
    if not first <= when.year <= last:
        raise InputError(
            f"{en} {when.isoformat()} is outside the plan years {first}–{last}",
            f"{zh} {when.isoformat()} 不在 {first}—{last} 年度范围内",
        )
    if ahead is not None and when < (today := beijing_today()):
        raise InputError(
            f"{en} {when.isoformat()} is before today ({today.isoformat()}, Beijing time): {ahead[0]}",
            f"{zh} {when.isoformat()} 早于今天（{today.isoformat()}，北京时间），{ahead[1]}",
        )
    return when


def repeated_row(keys: Iterable[tuple[str, str]]) -> tuple[int, int] | None:
    """The positions (first, repeat) of the first (county, factor) a plan gives twice; None when each is given once.
    A plan gives one amount per county and factor: two rows of one were summed into one posting, and the repeat
    check (:meth:`geo.quota.Ledger.issue`) then called a different plan the same "row for row". The CSV reader
    (:func:`geo.io.quota.parse_quota_plan`) and the ledger both ask here."""
    seen: dict[tuple[str, str], int] = {}
    for position, key in enumerate(keys):
        if key in seen:
            return seen[key], position
        seen[key] = position
    return None


def check_factor(factor: str) -> None:
    if factor not in FACTORS:
        raise InputError(f"unknown factor {factor!r}; factors: {sorted(FACTORS)}", f"未知要素 {factor!r}")


def project_holder(project_id: str) -> str:
    return f"{PROJECT_PREFIX}{project_id}"


def holder_kind(holder: str) -> HolderKind:
    if holder == CITY:
        return "city"
    if holder.startswith(PROJECT_PREFIX):
        return "project"
    if holder.startswith(EXTERNAL_PREFIX):
        return "external"
    return "county"


@dataclass(frozen=True)
class Posting:
    """One line of a transaction: ``amount`` into (negative: out of) one account."""

    factor: str
    holder: str
    bucket: str
    year: int
    amount: Decimal

    @property
    def key(self) -> Key:
        return (self.factor, self.holder, self.bucket, self.year)


def move(
    factor: str,
    year: int,
    value: Decimal,
    source: tuple[str, str],
    target: tuple[str, str],
    target_year: int | None = None,
) -> list[Posting]:
    """Two postings: ``value`` out of ``source`` (holder, bucket) into ``target``."""
    return [
        Posting(factor, source[0], source[1], year, -value),
        Posting(factor, target[0], target[1], target_year if target_year is not None else year, value),
    ]
