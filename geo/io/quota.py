"""Ledger inputs as files: the quota plan (下达计划, CSV), allocation demands (YAML) and review results (JSON).

Readers return what the ledger takes (plan rows, :class:`~geo.quota.Demand`,
:class:`~geo.review.result.ReviewResult`), so the CLI and the API offer the same
formats. A malformed file is a :class:`~geo.errors.FormatError` whose Chinese and
English messages name the file and the line.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final, NamedTuple

from pydantic import TypeAdapter, ValidationError
from pydantic_core import from_json

from geo.errors import FormatError, InputError
from geo.figures import FULL_WIDTH_NUMBER
from geo.io.files import input_file
from geo.io.summary import append_row
from geo.quota.accounts import FACTORS, amount, repeated_row
from geo.quota.allocation import Demand
from geo.review.result import MAX_ID_CHARS, MAX_NAME_CHARS, ItemFacts, ParcelResult, ReviewResult
from geo.signing import SigningKey, Verification, verify
from geo.vocabulary import STATUS_ZH, VERDICT_ZH, check_single_line, first_few, verdict_of

PLAN_COLUMNS = ("county_code", "factor", "amount")
PLAN_UNIT = "unit"  # optional: the unit the amount is written in (an area in 亩 or 公顷 too), else the factor's
PLAN_REMARKS = frozenset({"备注", "说明", "note", "notes", "remark", "remarks", "comment"})  # read by people only
AREA_UNITS = {  # how a plan may name an area's unit (after NFKC, lower case: ㎡ and M² are m2) → m² per unit
    "m2": Decimal(1),
    "平方米": Decimal(1),
    "亩": Decimal(10000) / Decimal(15),  # 1 亩 = 10000/15 m² exactly (666.67 is its rounding: geo.crs.M2_PER_MU)
    "公顷": Decimal(10000),
    "ha": Decimal(10000),
}
DEMAND_FIELDS = tuple(Demand.model_fields)
EXPONENT = re.compile(r"[+-]?[0-9.,]*[0-9][eE][+-]?[0-9]+")  # 1.23E+06: what a spreadsheet shows a narrow column as
THOUSANDS = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?")  # 1,234,567.89: commas group thousands only
ENCODINGS = ("utf-8-sig", "gb18030")  # UTF-8 (with or without BOM), or GBK as Excel saves CSV on Chinese Windows


class PlanRow(NamedTuple):
    """One line of a quota plan: what :meth:`geo.quota.Ledger.issue` takes."""

    county_code: str
    factor: str
    amount: Decimal


def _fail(name: str, line: int | None, en: str, zh: str) -> FormatError:
    where_en = f"{name} line {line}" if line is not None else name
    where_zh = f"{name} 第 {line} 行" if line is not None else name
    return FormatError(f"{where_en}: {en}", f"{where_zh}：{zh}")


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot read {path.name}", f"无法读取 {path.name}") from exc
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FormatError(f"{path.name} is neither UTF-8 nor GBK text", f"{path.name} 不是 UTF-8 或 GBK 编码的文本")


# --- the quota plan ------------------------------------------------------------------------------------------


def parse_quota_plan(text: str, *, name: str = "plan.csv") -> list[PlanRow]:
    """``county_code,factor,amount`` lines, one row per county and factor, the amount in the factor's unit
    (:data:`~geo.quota.accounts.FACTORS`). An optional ``unit`` column names the unit each amount is written in: an
    area (the land factors, booked in m²) in m² (m2, ㎡, 平方米), 亩 (10000/15 m² exactly) or 公顷 (ha, 10,000 m²);
    any other factor only in its own unit; an empty cell is the factor's unit. A remark column (备注, 说明, note)
    is read by people and ignored; any other column is refused, naming it: ``unit`` was once ignored, and 150 亩
    booked as 150 m²."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header = [h.strip() for h in reader.fieldnames or []]
    if not set(PLAN_COLUMNS) <= set(header):
        raise _fail(
            name,
            1,
            f"needs the columns {','.join(PLAN_COLUMNS)} (found {','.join(header) or 'nothing'})",
            f"须含 {','.join(PLAN_COLUMNS)} 列（实有 {','.join(header) or '无'}）",
        )
    known = {*PLAN_COLUMNS, PLAN_UNIT}
    unknown = [h for h in header if h not in known and h.lower() not in PLAN_REMARKS]
    if unknown:
        shown = ", ".join(repr(h) if h else "(unnamed)" for h in unknown)
        shown_zh = "、".join(f"“{h}”" if h else "（无列名）" for h in unknown)
        raise _fail(
            name,
            1,
            f"unknown column {shown}: a plan has the columns {','.join(PLAN_COLUMNS)}, optionally {PLAN_UNIT} (the "
            "amount's unit: m², 亩 or 公顷 for an area) and a remark (备注); a column lantu does not read could "
            "change what an amount means",
            f"未知列 {shown_zh}：计划须含 {','.join(PLAN_COLUMNS)} 列，可选 {PLAN_UNIT} 列（数量单位：面积可为 m²、"
            "亩或公顷）及备注列；不识别的列可能改变数量的含义，不予忽略",
        )
    if len(set(header)) < len(header):
        twice = sorted({h for h in header if header.count(h) > 1})
        raise _fail(name, 1, f"repeats the column {', '.join(twice)}", f"列 {'、'.join(twice)} 重复")
    reader.fieldnames = header
    rows: list[PlanRow] = []
    lines: list[int] = []
    for raw in reader:
        line = reader.line_num
        extra = [v for v in raw.pop(None, None) or [] if v.strip()]  # DictReader keeps surplus fields under None
        if extra or any(raw.get(c) is None for c in PLAN_COLUMNS):
            found = len(header) - sum(v is None for v in raw.values()) + len(extra)
            raise _fail(
                name, line, f"has {found} fields, not {len(header)}", f"有 {found} 个字段，应为 {len(header)} 个"
            )
        county, factor, value = (str(raw[c]).strip() for c in PLAN_COLUMNS)
        if not county:
            raise _fail(name, line, "county_code is empty", "区县代码为空")
        if factor not in FACTORS:
            raise _fail(
                name, line, f"unknown factor {factor!r} (factors: {', '.join(FACTORS)})", f"未知要素 {factor!r}"
            )
        unit = str(raw.get(PLAN_UNIT) or "").strip()
        number = _plan_number(value, name=name, line=line)
        if not number.is_finite() or number <= 0:
            raise _fail(name, line, f"amount {value!r} is not a positive number", f"数量 {value!r} 不是正数")
        per_unit = _unit_factor(unit, factor, name=name, line=line)
        try:  # the ledger's own bound (MAX_AMOUNT) and four decimals, refused here where the line is known
            booked = amount(number)  # the figure as written first: 1e999999999 × 666.67 overflows the context
            booked = amount(number * per_unit) if per_unit != 1 else booked
        except InputError as exc:
            raise _fail(name, line, exc.message_en, exc.message_zh) from exc
        if booked <= 0:
            written = f"{value} {unit}".strip()
            raise _fail(
                name,
                line,
                f"amount {written} rounds to 0 at the ledger's four decimals",
                f"数量 {written} 按台账保留四位小数后为 0",
            )
        rows.append(PlanRow(county, factor, booked))
        lines.append(line)
    if not rows:
        raise _fail(name, None, "has no rows", "没有数据行")
    if (repeat := repeated_row((r.county_code, r.factor) for r in rows)) is not None:
        first, second = repeat
        county, factor = rows[second][:2]
        raise _fail(
            name,
            lines[second],
            f"{county} {factor} was already given on line {lines[first]}",
            f"区县 {county} 的 {factor} 已在第 {lines[first]} 行给出",
        )
    return rows


# the spellings of a non-area factor's own unit the plan takes (the CLI's help writes them "tce 吨标准煤", "t 吨")
OWN_UNITS: Final = {"吨标准煤": {"吨标准煤", "tce"}, "吨": {"吨", "t"}, "kg": {"kg", "千克"}}


def _unit_factor(unit: str, factor: str, *, name: str, line: int) -> Decimal:
    """How many of the factor's own unit one ``unit`` is (:func:`unit_factor`), a FormatError naming the line
    where it is no unit of the factor."""
    try:
        return unit_factor(unit, factor)
    except InputError as exc:
        raise _fail(name, line, exc.message_en, exc.message_zh) from None


def unit_factor(unit: str, factor: str) -> Decimal:
    """How many of the factor's own unit one ``unit`` is: an area's m² per m², 亩 or 公顷 (:data:`AREA_UNITS`);
    1 for the factor's own unit or an empty one; else an InputError saying the units it takes. The plan's
    ``unit`` column and the API's plan rows alike."""
    own = FACTORS[factor][1]
    if not unit:
        return Decimal(1)
    spelled = unicodedata.normalize("NFKC", unit).lower()
    if own == "m²":
        if spelled in AREA_UNITS:
            return AREA_UNITS[spelled]
        takes_en, takes_zh = "m² (m2, 平方米), 亩 or 公顷 (ha)", "m²（m2、平方米）、亩或公顷（ha）"
    elif spelled in OWN_UNITS.get(own, {unicodedata.normalize("NFKC", own).lower()}):
        return Decimal(1)
    else:
        takes_en = takes_zh = " / ".join(sorted(OWN_UNITS.get(own, {own})))
    raise InputError(
        f"unit {unit!r} is not a unit of {factor}: {takes_en}",
        f"单位“{unit}”不适用于{FACTORS[factor][0]}，应为 {takes_zh}",
    )


def _plan_number(value: str, *, name: str, line: int) -> Decimal:
    """An amount as written, commas allowed only as thousands separators (1,234,567.89): a decimal comma ("1,5",
    as much of Europe writes 1.5) or a stray one ("1,00,0.5") was read as 15 or 1000.5, and the province's plan
    booked wrong by orders of magnitude. No underscore either: Python reads "1_5" as 15, a plan's reader sees no
    number. Digits are 0-9 or the full-width ones of a Chinese input method (１５); Decimal read another script's
    ("١٥", Arabic-Indic) as 15 too. No exponent: a spreadsheet saves a narrow column's 1,234,567 as 1.23E+06, the
    digits it shows, as the coordinate files' reader says too. NaN when it is no number at all (refused by the
    caller)."""
    if "_" in value:
        raise _fail(
            name,
            line,
            f"amount {value!r}: an underscore is no separator in a plan; write the number without it (1234567.89) "
            "or group thousands with commas (1,234,567.89)",
            f"数量 {value!r}：计划中的数字不能含下划线；请不用分隔符（1234567.89），或以逗号分隔千位（1,234,567.89）",
        )
    value = value.translate(FULL_WIDTH_NUMBER)
    if any(c.isdecimal() and not c.isascii() for c in value):
        raise _fail(
            name,
            line,
            f"amount {value[:40]!r}: write its digits as 0-9 (digits of another script are no plan's)",
            f"数量 {value[:40]!r}：数字请用 0-9 书写（不接受其他文字的数字）",
        )
    if EXPONENT.fullmatch(value.strip()):
        raise _fail(
            name,
            line,
            f"amount {value[:40]!r}: write the number in full (1230000), not in scientific notation, which a "
            "spreadsheet shows for a narrow column and saves with the digits it shows (1.23E+06 for 1,234,567)",
            f"数量 {value[:40]!r}：请写出完整数字（如 1230000），不用科学计数法（表格列宽不足时显示为 1.23E+06，"
            "另存为 CSV 时只保留所显示的位数）",
        )
    if "," in value:
        if THOUSANDS.fullmatch(value) is None:
            raise _fail(
                name,
                line,
                f"amount {value!r}: a comma may only group thousands (1,234,567.89); write a decimal with a point "
                "(1.5) or no separators (1234567.89)",
                f"数量 {value!r}：逗号只能用作千位分隔符（如 1,234,567.89）；"
                "小数请用小数点（1.5），或不用分隔符（1234567.89）",
            )
        value = value.replace(",", "")
    try:
        return Decimal(value)
    except InvalidOperation:
        return Decimal("NaN")


def read_quota_plan(path: str | Path) -> list[PlanRow]:
    """A quota plan CSV file (UTF-8 or GBK); see :func:`parse_quota_plan`."""
    path = Path(path)
    return parse_quota_plan(_read_text(path), name=path.name)


# --- review results --------------------------------------------------------------------------------------------


class SignedReview(NamedTuple):
    """A review result read from a file, and whether the file is the one ``lantu review`` wrote here."""

    result: ReviewResult
    check: Verification

    @property
    def verified(self) -> bool:
        return self.check.verified


class _ReviewFile(ReviewResult):
    """A result file as written: the review and its ``signature`` member (any value: whatever it holds is
    compared with the file's last bytes)."""

    signature: Any = None


_PARCEL = TypeAdapter(ParcelResult)
_MAX_PROBLEM_CHARS = 200  # of the first problem quoted: its place and pydantic's words, never the input
# a piece's attributes (its layer's columns) and an item's area per 三调 class: some dozens at most
MAX_MAP_ENTRIES: Final = 1_000


def _parse_review(raw: bytes, name: str) -> tuple[ReviewResult, bool, Any]:
    """The review in ``raw`` (a UTF-8 BOM, Notepad's, read past), whether it has a ``signature`` member, and
    that member. The parcels are checked one at a time and the first invalid one refused: pydantic collects
    every error of what it checks, and a file of 400,000 empty parcels (1.2 MB) made millions of them,
    gigabytes of memory, before it was refused."""
    try:  # pydantic's own JSON parser, as the models read JSON elsewhere
        body = from_json(raw.removeprefix(codecs.BOM_UTF8))
    except ValueError as exc:
        raise _not_a_review(name) from exc
    if not isinstance(body, dict):
        raise _not_a_review(name)
    parcels = body.get("parcels")
    try:
        head = _ReviewFile.model_validate({**body, "parcels": []} if isinstance(parcels, list) else body)
    except ValidationError as exc:
        raise _not_a_review(name, exc) from exc
    assert isinstance(parcels, list)  # else refused above
    checked = []
    for n, parcel in enumerate(parcels):
        _refuse_costly_items(parcel, n, name)
        try:
            checked.append(_PARCEL.validate_python(parcel))
        except ValidationError as exc:
            raise _not_a_review(name, exc, parcel=n) from exc
    fields = head.model_fields_set - {"signature"}
    result = ReviewResult.model_construct(
        fields, **{field: getattr(head, field) for field in ReviewResult.model_fields} | {"parcels": checked}
    )
    return result, "signature" in head.model_fields_set, head.signature


def _refuse_costly_items(parcel: Any, n: int, name: str) -> None:
    """Refuse, before pydantic reads it, a parcel whose items would make an error per entry: a list stops at its
    first bad entry (``FailFast``), but pydantic checks every value of a map and keeps an error for each bad one (a
    13 MB file of 200,000 attributes took 1.45 GB to refuse), and one per unknown key of the facts (``ItemFacts``
    forbids them: 100,000 made-up keys, 100,000 errors). Here, at the file's edge, not in the model, which the
    review builds thousands of times a batch."""
    items = parcel.get("items") if isinstance(parcel, dict) else None
    for i, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            continue
        facts, details = item.get("facts"), item.get("details")
        if isinstance(facts, dict) and (unknown := [repr(k)[:40] for k in facts if k not in ItemFacts.model_fields]):
            named = first_few(unknown)
            raise FormatError(
                f"{name} is not a lantu review result (JSON): parcel {n + 1}: items.{i}.facts: {len(unknown)} unknown "
                f"field(s): {named}",
                f"{name} 不是审查结果 JSON：第 {n + 1} 个地块：items.{i}.facts：{len(unknown)} 个未知字段：{named}",
            )
        maps = [("facts.by_class_m2", facts.get("by_class_m2") if isinstance(facts, dict) else None)]
        if isinstance(details, list):
            maps += [
                (f"details.{k}.attributes", d.get("attributes")) for k, d in enumerate(details) if isinstance(d, dict)
            ]
        for where, held in maps:
            if isinstance(held, dict) and len(held) > MAX_MAP_ENTRIES:
                raise FormatError(
                    f"{name} is not a lantu review result (JSON): parcel {n + 1}: items.{i}.{where}: {len(held):,} "
                    f"entries, at most {MAX_MAP_ENTRIES:,}",
                    f"{name} 不是审查结果 JSON：第 {n + 1} 个地块：items.{i}.{where}：{len(held):,} 项，至多 "
                    f"{MAX_MAP_ENTRIES:,} 项",
                )


def _not_a_review(name: str, exc: ValidationError | None = None, *, parcel: int | None = None) -> FormatError:
    """The file is not a review result; with ``exc``, what its first problem is and where (``parcel``: the
    parcel's index, said from 1)."""
    if exc is None or not exc.error_count():
        return FormatError(f"{name} is not a lantu review result (JSON)", f"{name} 不是审查结果 JSON")
    first = exc.errors(include_url=False, include_context=False, include_input=False)[0]
    where_en = "" if parcel is None else f"parcel {parcel + 1}: "
    where_zh = "" if parcel is None else f"第 {parcel + 1} 个地块："
    field_path = ".".join(str(part) for part in first["loc"])
    problem = _printable(f"{field_path}: {first['msg']}" if field_path else str(first["msg"]))
    return FormatError(
        f"{name} is not a lantu review result (JSON): {where_en}{problem}",
        f"{name} 不是审查结果 JSON：{where_zh}{problem}",
    )


def _printable(text: str) -> str:
    """``text`` on one line, control characters as ``?``, at most :data:`_MAX_PROBLEM_CHARS` long (a field
    name in it is the file's)."""
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= _MAX_PROBLEM_CHARS else text[: _MAX_PROBLEM_CHARS - 1] + "…"


def read_review_result(path: str | Path, *, key: SigningKey | None = None) -> ReviewResult:
    """A result of ``lantu review`` (the JSON of DESIGN.md), its verdicts consistent (:func:`check_verdicts`) and,
    when it is signed by ``key``, its signature right; :func:`read_signed_review` also says whether it is
    verified."""
    return read_signed_review(path, key=key).result


def read_signed_review(path: str | Path, *, key: SigningKey | None) -> SignedReview:
    """A result of ``lantu review`` and its verification against this installation's ``key``
    (:func:`geo.signing.verify`): a file changed after lantu signed it is refused
    (:class:`~geo.errors.FormatError`), one without a signature or signed by another key is read unverified;
    then its verdicts must agree with its items (:func:`check_verdicts`) and its names be as a review takes
    them (:func:`check_names`). The signature is checked over the bytes read, the very ones parsed."""
    path = Path(path)
    if path.exists():  # a device or a pipe said for what it is: a demand's review: /dev/zero was read for ever
        input_file(path, "review")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot read {path.name}", f"无法读取 {path.name}") from exc
    result, present, member = _parse_review(raw, path.name)  # a BOM: then the signature says "changed"
    check = verify(raw, member, present=present, key=key, name=path.name)
    check_verdicts(result, name=path.name)
    check_names(result, name=path.name)
    return SignedReview(result, check)


def check_names(result: ReviewResult, *, name: str) -> None:
    """Each parcel's id and name as a review writes them: one line, of the lengths a review takes. A file is
    read from a user's disk, and a name of 3,000 characters or with a control character in it ended the PDF
    or the Word paper with a traceback."""
    for parcel in result.parcels:
        for value, what_en, what_zh, most in (
            (parcel.id, "parcel id", "地块编号", MAX_ID_CHARS),
            (parcel.name, f"parcel {parcel.id}'s name", f"地块 {parcel.id} 的项目名称", MAX_NAME_CHARS),
        ):
            if value is None:
                continue
            if len(value) > most:
                raise FormatError(
                    f"{name}: the {what_en} is {len(value):,} characters long, more than a review takes ({most})",
                    f"{name}：{what_zh}长 {len(value):,} 个字符，超过审查所取的 {most} 个",
                )
            try:
                check_single_line(value, what_en, what_zh)
            except InputError as exc:
                raise FormatError(f"{name}: {exc.message_en}", f"{name}：{exc.message_zh}") from exc


def check_verdicts(result: ReviewResult, *, name: str) -> None:
    """Each parcel's verdict is the one its items give (:func:`geo.vocabulary.verdict_of`), or ``out_of_coverage``
    where it reaches beyond the blueprint's coverage and no item fails (as ``geo.review.engine`` signs them: a fail
    rejects it wherever the rest lies; a file written before that says ``out_of_coverage``). A file is read from
    a user's disk: a hand-edited verdict ("pass" over a failing item) would reserve quota or start a
    consultation for a parcel the review rejected. This catches an edit, not a forgery of the whole file: that
    is the signature's part (:func:`read_signed_review`); the API reads the stored review, the trusted one."""
    for parcel in result.parcels:
        if parcel.verdict == "out_of_coverage":  # refuses more than any other verdict, never less
            continue
        given = verdict_of((i.status for i in parcel.items), beyond=parcel.reaches_beyond)
        if given == "out_of_coverage":
            raise _inconsistent(
                name,
                parcel,
                f"{_uncovered_share(parcel)} of it lies outside the blueprint's coverage (out_of_coverage)",
                f"其 {_uncovered_share(parcel)} 超出蓝图覆盖范围",
            )
        if parcel.verdict != given:
            failing = [i for i in parcel.items if i.status != "pass"]
            raise _inconsistent(
                name,
                parcel,
                f"its items give {given!r} ({', '.join(f'{i.code}: {i.status}' for i in failing) or 'all pass'})",
                f"各审查项得出“{VERDICT_ZH[given]}”（"
                + ("、".join(f"{i.name_zh}：{STATUS_ZH[i.status]}" for i in failing) or "均通过")
                + "）",
            )


def _uncovered_share(parcel: ParcelResult) -> str:
    return f"{(1 - (parcel.covered_ratio or 0)) * 100:.2f} %"


def _inconsistent(name: str, parcel: ParcelResult, why_en: str, why_zh: str) -> FormatError:
    said = VERDICT_ZH.get(parcel.verdict, parcel.verdict)
    return FormatError(
        f"{name}: parcel {parcel.id} says verdict {parcel.verdict!r}, but {why_en}: the file is not the review "
        "as lantu wrote it; review the parcels again (lantu review)",
        f"{name}：地块 {parcel.id} 的审查结论为“{said}”，但{why_zh}，与审查结果不一致（文件可能被改动）；"
        "请重新审查（lantu review）",
    )


# --- allocation demands ----------------------------------------------------------------------------------------


class UnverifiedReview(NamedTuple):
    """A demand whose review file is not verified: where it is named and why (:class:`geo.signing.Verification`)."""

    where_en: str  # demands.yaml line 3 (review r.json)
    where_zh: str
    check: Verification


class DemandsRead(NamedTuple):
    demands: list[Demand]
    unverified: list[UnverifiedReview]


def parse_demands(text: str, *, name: str = "demands.yaml", base: Path | None = None) -> list[Demand]:
    """A YAML list of demands: ``project_id``, ``review`` (a review JSON path, relative to ``base``), and
    optionally ``parcel_id``, ``name``, ``level``, ``necessity``, ``location``, ``readiness``."""
    return parse_signed_demands(text, name=name, base=base, key=None).demands


def parse_signed_demands(
    text: str, *, name: str = "demands.yaml", base: Path | None = None, key: SigningKey | None
) -> DemandsRead:
    """:func:`parse_demands`, each review file checked against ``key`` (:func:`read_signed_review`): a changed one
    is refused naming its line, the unverified ones are listed."""
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        entries = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise _fail(name, line, f"not YAML ({getattr(exc, 'problem', None) or exc})", "不是有效的 YAML") from exc
    if not isinstance(entries, list) or not isinstance(root, yaml.SequenceNode) or not entries:
        raise _fail(name, 1, "must be a non-empty list of demands", "应为项目需求列表（非空）")
    read = DemandsRead([], [])
    for node, entry in zip(root.value, entries, strict=True):
        line = node.start_mark.line + 1
        demand, signed = _demand(entry, name=name, line=line, base=base or Path.cwd(), key=key)
        read.demands.append(demand)
        if not signed.verified:
            review = str(entry["review"])
            read.unverified.append(
                UnverifiedReview(f"{name} line {line} (review {review})", f"{name} 第 {line} 行（{review}）", signed)
            )
    return read


def _demand(entry: Any, *, name: str, line: int, base: Path, key: SigningKey | None) -> tuple[Demand, Verification]:
    if not isinstance(entry, Mapping):
        raise _fail(name, line, "a demand must be a mapping (project_id: …, review: …)", "每项需求应为键值对")
    unknown = sorted(str(k) for k in entry if k not in DEMAND_FIELDS)
    if unknown:
        raise _fail(
            name,
            line,
            f"unknown fields {unknown} (fields: {', '.join(DEMAND_FIELDS)})",
            f"未知字段 {unknown}（可用字段：{', '.join(DEMAND_FIELDS)}）",
        )
    review = entry.get("review")
    if not isinstance(review, str) or not review.strip():
        raise _fail(name, line, "needs review: the path of a review result JSON", "缺少 review（审查结果 JSON 路径）")
    try:
        result, check = read_signed_review(base / review, key=key)
    except (FormatError, InputError) as exc:
        raise _fail(name, line, exc.message_en, exc.message_zh) from exc
    fields = {k: str(v) if k in ("project_id", "parcel_id") and isinstance(v, int) else v for k, v in entry.items()}
    try:
        return Demand.model_validate({**fields, "review": result}), check
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise _fail(name, line, problems, f"需求字段有误（{problems}）") from exc


def read_demands(path: str | Path) -> list[Demand]:
    """An allocation demands YAML file; review paths are relative to the file."""
    return read_signed_demands(path, key=None).demands


def read_signed_demands(path: str | Path, *, key: SigningKey | None) -> DemandsRead:
    """:func:`read_demands` with each review file checked against ``key`` (:func:`parse_signed_demands`)."""
    path = Path(path)
    return parse_signed_demands(_read_text(path), name=path.name, base=path.parent, key=key)


# --- ledger and project tables for people ---------------------------------------------------------------------


def report_xlsx(rows: Iterable[Mapping[str, Any]], labels: Mapping[str, str], *, title: str) -> bytes:
    """Rows as an Excel workbook (openpyxl): one sheet, ``labels``' Chinese headers, numbers as numbers."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None, "a new workbook has a sheet"
    sheet.title = title[:31]
    append_row(sheet, labels.values())
    for row in rows:
        append_row(sheet, [row.get(key) for key in labels])  # a holder's or reason's text is never a formula
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def labelled(rows: Iterable[Mapping[str, Any]], labels: Mapping[str, str], fmt: str) -> list[dict[str, Any]]:
    """Rows for ``fmt``: JSON keeps the English keys (the contract); a table or CSV is read by people, so its
    columns are ``labels``' (Chinese, with units), in ``labels``' order; a list (a disposal's settlements) is
    one cell, its items joined with 、, and a yes or no is 是 or 否."""
    if fmt == "json":
        return [dict(r) for r in rows]
    return [{zh: _cell(r.get(key)) for key, zh in labels.items()} for r in rows]


def _cell(value: Any) -> Any:
    if isinstance(value, bool):  # a table's 是/否, not Python's True
        return "是" if value else "否"
    return "、".join(map(str, value)) if isinstance(value, list) else value
