"""What the library's commands need from their host: a plain value, never the environment.

``geo`` reads no ``LANTU_*`` variable itself. Run alone (``python -m geo.cli``) its
commands use these defaults; the service's ``lantu`` command (``api.cli``) fills
them from its settings before any command runs.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import sys
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TextIO

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from typer.models import OptionInfo

from geo.errors import InputError, LantuError
from geo.io.blueprint import MANIFEST
from geo.io.files import input_file, output_file
from geo.io.tables import Row, table_width, write_records, write_table
from geo.papers import Issuer, beijing_today
from geo.review.result import plain_figure
from geo.signing import SigningKey, Verification, installation_key, key_for_writing
from geo.vocabulary import check_actor, facilities, project_types

if TYPE_CHECKING:
    from geo.blueprint import Blueprint

err = Console(stderr=True)


LINE_IN_PARAGRAPH = re.compile(r"(?<!\n) *\n *(?!\n)")  # a line break that is no paragraph break


def _folding_help() -> None:
    """Typer draws a parameter's help in a Rich table cell, and a cell cuts a word wider than itself with "…":
    Chinese has no spaces, so in an 80-column terminal ``--redline-exempt`` read "生态保护红线内允 …". The help
    text folds such a word over lines instead. And a paragraph's single line breaks (a docstring's) are joined, as
    typer did before 0.29: a description broke mid-sentence where its source line did ("Reserving the parcel
    again / for the same project"). Typer builds that text in ``rich_utils._make_rich_text``, not a public hook:
    ``tests/test_cli_help.py`` reads every command's help at 80 columns, and fails if this stops working."""
    import typer.rich_utils
    from rich.text import Text

    made_by_typer = typer.rich_utils._make_rich_text

    def folding(*, text: str, style: str = "", markup_mode: typer.rich_utils.MarkupModeStrict) -> object:
        text = LINE_IN_PARAGRAPH.sub(" ", text)
        made = made_by_typer(text=text, style=style, markup_mode=markup_mode)
        if isinstance(made, Text):
            made.overflow = "fold"
        return made

    typer.rich_utils._make_rich_text = folding  # type: ignore[assignment]


_folding_help()


@dataclass(frozen=True)
class CliContext:
    database_url: str = "sqlite:///lantu.db"
    pooling_share: float = 0.3
    data_dir: Path | None = None  # the user's own profiles/ and standards/, searched before the packaged ones
    coordinate_producer: str | None = None  # 数据产生单位 written into coordinate text files
    webhook_url: str | None = None  # 业务协同 events are POSTed here, signed with webhook_secret
    webhook_secret: str | None = None
    issuer: Issuer = field(default_factory=Issuer)  # 审查单位 and wording of the papers the CLI writes (drafts)
    # the key signing review result files (``geo.signing``): the host's secret, else the key file
    signing_secret: str | None = field(default=None, repr=False)
    signing_key_file: Path | None = None  # None: no home folder to keep one in

    def signing_key(self, *, create: bool) -> SigningKey | None:
        """This installation's key (:func:`geo.signing.installation_key`): made on first use when ``create``."""
        return installation_key(self.signing_secret, self.signing_key_file, create=create)


def database_file(url: str) -> Path | None:
    """The file of a SQLite database URL (``sqlite:///lantu.db``: lantu.db in the working directory, as SQLite
    opens it); None for another database, or one in memory."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    if parsed.database.startswith("file:"):  # a URI filename (sqlite:///file:ledger.db?mode=ro&uri=true)
        return None if "memory" in parsed.database else Path(parsed.database.removeprefix("file:"))
    return Path(parsed.database)


def _output_file(value: str) -> Path | None:
    """``-o -``: stdout, as Unix commands read it; a file named "-" is ``-o ./-``."""
    return None if value == "-" else Path(value)


def _file_only(value: str) -> Path:
    """A file an option writes beside the output (a GeoPackage, a table): ``-`` is refused, never
    written as a file named "-" (that is ``./-``)."""
    if value == "-":
        raise typer.BadParameter("'-' is stdout, which this option does not write: name a file (./- for '-')")
    return Path(value)


FileOnly = {"parser": _file_only, "metavar": "FILE"}

Output = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="File to write (default: stdout, as '-' is).",
        parser=_output_file,
        metavar="FILE",
    ),
]

GivenCRS = Annotated[
    str | None,
    typer.Option(
        help="坐标系 / CRS of parcels that declare none (DXF, a shapefile without .prj, GeoJSON without a crs "
        "member), e.g. EPSG:4527; a CRS the file declares is kept, with a warning where it differs. Default: none, "
        "such a file is refused (a GeoJSON one is read as EPSG:4490).",
    ),
]
ProjectId = Annotated[str, typer.Argument(help="项目编号 (项目库 id).")]
TableFormat = Annotated[str, typer.Option("--format", "-f", help="输出格式 / output format: table | json | csv.")]


class Layout(StrEnum):
    """How ``-f table`` meets a terminal: psql's ``\\x auto``, or one of its two layouts always."""

    auto = "auto"
    table = "table"
    records = "records"


LayoutOption = Annotated[
    Layout,
    typer.Option(
        "--layout",
        help="显示方式 / layout of -f table: auto draws the table, or each row as a block of 列名: 值 lines when "
        "the terminal is narrower than the table (as psql's expanded display); table always draws the table; "
        "records always writes the blocks, into a pipe or a file too. CSV and JSON are never changed.",
    ),
]
PROJECT_TYPE = f"项目类型 / project type, one of (closed list): {', '.join(project_types())}"  # layers/vocabulary.yaml
FACILITY = f"工程类别 / kind of work, one of (closed list): {', '.join(facilities())}"  # rated by item 10's indicators


def _actor(value: Any) -> str:
    """An ``--actor`` as an API key's name must be (``api.keys.check_key_name``): it is the 经办人 of the journal,
    a project's history or a department's answer, so never blank (--actor '' booked a transfer by nobody), never
    padded, within its column and one printable line (a line break or an escape sequence was recorded as given,
    a second line forged in the audit trail): ``geo.vocabulary.check_actor``, the libraries' own rule."""
    text = str(value)
    try:
        check_actor(text)
    except InputError as exc:
        raise typer.BadParameter(f"{exc.message_en}（{exc.message_zh}）") from exc
    return text


def actor_option(recorded: str) -> OptionInfo:
    """``--actor``, described by ``recorded`` (who, and where it is recorded). Its default is the login of whoever
    runs the command: the help states that rule rather than show the login of whoever asked for --help. What is
    given is checked as a key's name is (``_actor``)."""
    option: OptionInfo = typer.Option(
        help=f"{recorded} (default: your login name).", show_default=False, parser=_actor, metavar="<str>"
    )
    return option


def distinct_files(named: dict[str, Path | None], *, inputs: Collection[str] = ("PARCELS",)) -> None:
    """Refuse a command whose outputs name one of its ``inputs`` or each other (``-o`` over the parcels, the result
    over the pieces file, the papers over their review result, a comparison over its 预审 boundary): one write would
    destroy the other file; two inputs may be one file. And, before the work is done for nothing, an input that is
    no regular file (``input_file``) and an output that cannot be written (``output_file``: a folder, a folder of
    its path missing or read-only)."""
    seen: dict[str, str] = {}
    for option, path in named.items():
        if path is None:
            continue
        if option in inputs:
            input_file(path, option)
        else:
            output_file(path, option)
        other = seen.setdefault(os.path.realpath(path), option)
        if other != option and not (other in inputs and option in inputs):
            raise InputError(
                f"{other} and {option} name the same file {path}", f"{other} 与 {option} 是同一个文件 {path}"
            )


def not_the_blueprints(named: dict[str, Path | None], bp: Blueprint) -> None:
    """Refuse an output that is one of the blueprint's own files (its manifest, a layer): the write
    would leave a blueprint that no longer loads."""
    own = {os.path.realpath(bp.root / MANIFEST)} | {os.path.realpath(layer.source) for layer in bp.layers.values()}
    for option, path in named.items():
        if path is not None and os.path.realpath(path) in own:
            raise InputError(
                f"{option} {path} is a file of the blueprint; write the output elsewhere",
                f"{option} {path} 是蓝图自身的文件，请输出到其他位置",
            )


def not_the_database(ctx: typer.Context, named: dict[str, Path | None]) -> None:
    """Refuse an output that is the ledger's SQLite database (LANTU_DATABASE_URL, lantu.db by default) or one of
    its journal files: `lantu quota report -f csv -o lantu.db` wrote the report over the ledger, every transaction,
    project and key lost, and the next command a traceback ("file is not a database")."""
    database = database_file(cli_context(ctx).database_url)
    if database is None:
        return
    own = {os.path.realpath(database.with_name(database.name + more)) for more in ("", "-wal", "-shm", "-journal")}
    for option, path in named.items():
        if path is not None and os.path.realpath(path) in own:
            raise InputError(
                f"{option} {path} is a file of the ledger's database ({database}); write the output elsewhere",
                f"{option} {path} 是指标台账数据库（{database}）的文件，请输出到其他位置",
            )


def cli_context(ctx: typer.Context) -> CliContext:
    """The host's context if it set one, else the library defaults."""
    root = ctx.find_root()
    return root.obj if isinstance(root.obj, CliContext) else CliContext()


def warn(text: str) -> None:
    """A warning on stderr; ``text`` is data (file names, reasons), never Rich markup."""
    err.print(f"[yellow]警告 warning[/yellow]: {escape(text)}", highlight=False, soft_wrap=True)


def writing_key(ctx: typer.Context) -> SigningKey | None:
    """The key ``lantu review`` signs its JSON with, made on first use (said once). Where there is none to be had
    the result is written unsigned, with a warning that says why: the review is as good, the file is then
    read back as unverified."""
    context = cli_context(ctx)
    key, unsigned = key_for_writing(context.signing_secret, context.signing_key_file)
    if unsigned is not None:
        warn(unsigned)
    elif key is not None and key.created:
        err.print(
            f"已创建签名密钥 / signing key created: {key.source} (key_id {key.key_id})", markup=False, highlight=False
        )
    return key


def reading_key(ctx: typer.Context) -> SigningKey | None:
    """The key a review file is checked against; none is made by a command that reads. A key that cannot be
    used is said (the files are then read as unverified)."""
    try:
        return cli_context(ctx).signing_key(create=False)
    except LantuError as exc:
        warn(f"{exc.message_zh} / {exc}")
        return None


def unverified_texts(name: str, check: Verification) -> tuple[str, str]:
    """Why the review file ``name`` is not verified, in English and Chinese."""
    return (
        f"{name} could not be verified as written by lantu: {check.why_en}",
        f"{name} 未经 lantu 签名核验：{check.why_zh}",
    )


def accept_unverified(
    name: str, check: Verification, *, accepted: bool, act: tuple[str, str], noted: tuple[str, str]
) -> None:
    """A review file ``name`` that is not verified refused (:class:`~geo.errors.InputError`) unless ``accepted``
    (``--accept-unsigned``), then said on stderr: its verdicts may have been edited together with its items.
    ``act`` is what the command does (English, Chinese: "reserve", "配置"), ``noted`` where the acceptance is
    recorded ("noted in the journal", "记入台账事由")."""
    if check.verified:
        return
    en, zh = unverified_texts(name, check)
    if not accepted:
        raise InputError(
            f"{en}. Its verdicts cannot be trusted: review the parcels again (lantu review), or, having checked the "
            f"file, {act[0]} with --accept-unsigned ({noted[0]})",
            f"{zh}。其审查结论无法确认未被改动：请重新审查（lantu review），或核实文件后加 --accept-unsigned {act[1]}"
            f"（{noted[1]}）",
        )
    warn(f"{zh}；经 --accept-unsigned 接受，已{noted[1]} / {en}; accepted with --accept-unsigned, {noted[0]}")


def fail(exc: LantuError) -> NoReturn:
    """A library error as a one-line reason in Chinese and English, and exit status 2."""
    err.print(f"[red]error[/red]: {escape(exc.message_zh)} / {escape(str(exc))}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def usage_error(error: Exception) -> str:
    """A usage error typer's click raised (an unknown option, a value outside its choices, a missing argument)
    as one line in Chinese, then click's English without pydantic's "Value error, " that typer's parsing
    leaves in it: click words these in English only. Read by the kind of error (typer vendors click: by name)."""
    kind = type(error).__name__
    en = str(getattr(error, "format_message", lambda: str(error))()).replace("Value error, ", "")
    param = getattr(error, "param", None)
    hint = " / ".join(getattr(param, "opts", None) or [getattr(param, "name", None) or "参数"])
    if kind == "NoSuchOption":
        maybe = sorted(getattr(error, "possibilities", None) or [])
        zh = f"没有选项 {getattr(error, 'option_name', '')}" + (f"（是否指 {'、'.join(maybe)}？）" if maybe else "")
    elif kind == "MissingParameter":
        zh = f"缺少{'参数' if getattr(param, 'param_type_name', None) == 'argument' else '选项'} {hint}"
    elif kind == "BadOptionUsage" and "requires an argument" in en:
        zh = f"选项 {getattr(error, 'option_name', '')} 缺少取值"
    elif kind == "BadParameter":
        zh = f"{hint} 的值无效"
    elif en.startswith("Got unexpected extra argument"):
        extra = re.search(r"\(([^()]*)\)$", en)
        zh = "多余的参数" + (f"：{extra.group(1)}" if extra else "")
    elif en.startswith("No such command"):
        zh = "没有这个命令" + en.removeprefix("No such command").rstrip(".")
    else:
        zh = "命令用法有误"
    return f"{zh}；{en}"


def figure(minimum: float | None = None) -> Callable[[Any], float]:
    """A figure typed on the command line (an option's ``parser``): a finite number of at least ``minimum``, without
    digit separators (Python's ``float`` reads "1_5" as 15: a typed investment of 1_5 万元 was graded as 15)."""

    def parse(value: Any) -> float:
        if isinstance(value, float):
            return value
        text = str(value).strip()
        try:
            number = float(plain_figure(text))  # the API's check, no digit separators
        except InputError as exc:
            raise typer.BadParameter(f"{exc.message_en}（{exc.message_zh}）") from None
        except ValueError:
            raise typer.BadParameter(f"{text!r} is no number（不是数字）") from None
        if not math.isfinite(number):
            raise typer.BadParameter(f"{text!r} is no finite number（应为有限数值）")
        if minimum is not None and number < minimum:
            raise typer.BadParameter(f"{text} is below {minimum:g}（不能小于 {minimum:g}）")
        return number

    parse.__name__ = "float"
    return parse


def figure_option(*names: str, minimum: float | None = None, help: str, **more: Any) -> OptionInfo:
    """An option taking a figure (``parser=figure(minimum)``) whose help ends with what :func:`figure` accepts:
    ``--help`` showed ``<float>`` alone, and that a negative investment or ``inf`` is refused was learnt by trying."""
    option: OptionInfo = typer.Option(*names, parser=figure(minimum), help=f"{help} {figure_range(minimum)}", **more)
    return option


def figure_range(minimum: float | None) -> str:
    """What :func:`figure` accepts, as the help of an option says it, in English and Chinese (no brackets: Rich
    reads ``[…]`` as markup, and the text was gone from ``--help``)."""
    if minimum is None:
        return "Range: a finite number (取值：有限数)."
    return f"Range: a finite number ≥ {minimum:g} (取值：不小于 {minimum:g} 的有限数)."


def stdout_is_terminal() -> bool:
    """Whether stdout is a terminal: a binary file (PDF, Word, xlsx) goes to stdout only where it is not
    (``lantu review … -f pdf > r.pdf``, a pipe); on a terminal it would be noise, and is refused."""
    return sys.stdout.isatty()


def binary_output_refused(name: str) -> InputError:
    """The refusal of a binary format for a terminal."""
    return InputError(
        f"the {name} output is a binary file, not for a terminal: give an output file (-o report.{name}) or "
        "redirect stdout to one",
        f"{name} 格式为二进制文件，不能输出到终端：须用 -o 指定输出文件（如 -o report.{name}），"
        "或将标准输出重定向到文件",
    )


def write_binary_stdout(data: bytes) -> None:
    """A binary file on stdout as its bytes."""
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def terminal_columns(out: TextIO) -> int | None:
    """The columns of the terminal ``out`` is (``COLUMNS`` first), or None for a pipe or a file."""
    return shutil.get_terminal_size().columns if out.isatty() else None


def _resolved(layout: Layout, terminal: int | None, measure: Callable[[], int]) -> Layout:
    """``auto`` made table or records, as psql's ``\\x auto``: records on a terminal narrower than the table
    (``measure()``, called only then), else the table."""
    if layout is not Layout.auto:
        return layout
    return Layout.records if terminal is not None and measure() > terminal else Layout.table


def show_table(
    rows: Iterable[Row],
    fmt: str,
    out: TextIO,
    *,
    layout: Layout,
    title: str = "",
    columns: Sequence[str] | None = None,
    width: int | None = None,
) -> None:
    """:func:`write_table`, a text table laid out as ``--layout`` asks: ``auto`` writes :func:`write_records`
    when ``out`` is a terminal narrower than the table, ``records`` always. Why: a ledger's table keeps a fixed
    width so that a pipe gets whole columns (outside checks parse it: a pipe or a file, CSV and JSON are never
    changed), and a narrower terminal wraps its lines mid-cell. A table drawn anyway (``table``) that a terminal
    wraps gets a note on how to read it."""
    rows = list(rows)
    terminal = terminal_columns(out)
    measure = partial(table_width, rows, out, title=title, columns=columns)
    if fmt == "table" and _resolved(layout, terminal, measure) is Layout.records:
        write_records(rows, out, title=title, columns=columns, width=terminal)
        return
    drawn = write_table(rows, fmt, out, title=title, columns=columns, width=width)
    if drawn is not None and terminal is not None and drawn > terminal:
        err.print(
            f"提示：表格宽 {drawn} 列，超出终端的 {terminal} 列，请用 `| less -S` 查看，或加 -f csv / "
            f"note: the table is {drawn} columns wide, wider than this terminal's {terminal}: page it with "
            "`| less -S`, or ask for -f csv",
            markup=False,
            highlight=False,
        )


ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


AS_OF_HELP = "Date to judge by, YYYY-MM-DD (default: today, Beijing time)."
AsOfOption = Annotated[str | None, typer.Option("--as-of", help=AS_OF_HELP)]


def judged_on(as_of: str | None) -> date:
    """The date an overdue list (逾期, 应开未开, 限时反馈) is judged by: ``--as-of``, else the city's today
    (Beijing time, not the server's clock)."""
    return beijing_today() if as_of is None else option_date(as_of, "--as-of")


def option_date(value: str, option: str) -> date:
    """A ``YYYY-MM-DD`` option value, or the input error naming the option (exit 2): that form only, as the API
    takes it (Python reads ``20260101`` and ``2026-W01-1`` as dates too)."""
    try:
        if not ISO_DATE.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InputError(f"{option} {value!r} is not a date (YYYY-MM-DD)", f"{option} 日期格式应为 YYYY-MM-DD") from exc
