"""``lantu papers``: the report, the PDF or the 审查意见 of a saved review result, without reviewing
again. Mounted beside the other commands by ``geo.cli``."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from geo.blueprint import Blueprint, load_blueprint
from geo.cli_context import (
    Output,
    binary_output_refused,
    cli_context,
    distinct_files,
    fail,
    not_the_blueprints,
    not_the_database,
    reading_key,
    stdout_is_terminal,
    unverified_texts,
    warn,
    write_binary_stdout,
)
from geo.errors import LantuError
from geo.io.files import input_file, write_whole
from geo.io.quota import read_signed_review
from geo.papers import document_number
from geo.quota_cli import database

app = typer.Typer()


class PaperFormat(StrEnum):
    html = "html"  # the printable report
    pdf = "pdf"
    opinion = "opinion"  # the drafted 审查意见, Markdown
    docx = "docx"  # the same as an editable Word file


@app.command("papers")
def papers_cmd(
    ctx: typer.Context,
    result_json: Annotated[
        Path, typer.Argument(help="A saved review result: the JSON of `lantu review -o` or GET /api/v1/reviews/{id}.")
    ],
    fmt: Annotated[PaperFormat, typer.Option("--format", "-f", help="文书 / the paper to write.")] = PaperFormat.html,
    blueprint: Annotated[
        Path | None,
        typer.Option(
            "--blueprint",
            "-b",
            help="The blueprint reviewed against: the sketch's layers and each layer's 现势性 (default: none, the "
            "sketch shows the parcels alone).",
        ),
    ] = None,
    output: Output = None,
    number: Annotated[
        bool,
        typer.Option(
            "--number/--draft",
            help="Number the papers 〔2026〕第N号 from the database (LANTU_DATABASE_URL under `lantu`; "
            "sqlite:///lantu.db under `python -m geo.cli`), the service's sequence: "
            "the review's number if it has one, else the next of the year. Default: a draft, unnumbered.",
        ),
    ] = False,
) -> None:
    """文书: the papers of a saved review (report, PDF, 审查意见) without running the review again.

    Exit 2 on a file that is not a review result, or one changed after lantu signed it. The text is the same as
    `lantu review … --format` wrote; a file lantu cannot verify (unsigned, or signed by another installation's
    key) is said on stderr and marked on every page of its papers."""
    from geo.cli import OutputFormat, render, say  # geo.cli mounts this module

    target = OutputFormat(fmt.value)
    if fmt in (PaperFormat.pdf, PaperFormat.docx) and output is None and stdout_is_terminal():
        fail(binary_output_refused(target.value))
    context = cli_context(ctx)
    try:
        # before the papers are laid out for nothing; never over the review they are made of (it was lost)
        distinct_files({"RESULT_JSON": result_json, "--output": output}, inputs=("RESULT_JSON",))
        not_the_database(ctx, {"--output": output})  # --number reads it
        result, check = read_signed_review(input_file(result_json, "RESULT_JSON"), key=reading_key(ctx))
        if not check.verified:
            en, zh = unverified_texts(result_json.name, check)
            warn(f"{zh}；文书将标注“未经签名核验” / {en}; every page of the papers says so")
        bp: Blueprint | None = load_blueprint(blueprint) if blueprint is not None else None
        if bp is not None:
            not_the_blueprints({"--output": output}, bp)
        issued = document_number(database(ctx), result.review_id, context.issuer) if number else None
        content = render(
            result,
            target,
            blueprint=bp,
            issuer=context.issuer,
            data_dir=context.data_dir,
            number=issued,
            unverified=not check.verified,
        )
    except LantuError as exc:
        fail(exc)
    data = content if isinstance(content, bytes) else content.encode("utf-8")
    if output is None:
        if isinstance(content, bytes):
            write_binary_stdout(content)
        else:
            sys.stdout.write(content + "\n")
        return
    try:
        write_whole(output, data)
    except LantuError as exc:
        fail(exc)
    say(f"已生成 {len(result.parcels)} 个地块的文书 / papers of {len(result.parcels)} parcel(s) → {output}")
