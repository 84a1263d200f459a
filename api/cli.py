"""The ``lantu`` command: the library's commands (``geo.cli``) plus those that need the web side.

Settings (``LANTU_*``) are read here, once, and handed to the library's commands as a
plain :class:`geo.cli_context.CliContext`; ``geo`` itself never reads the environment.
"""

from __future__ import annotations

import contextlib
import socket
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy import Engine

from api.settings import Settings
from geo import cli as geo_cli
from geo.blueprint import load_blueprint
from geo.cli_context import CliContext, fail
from geo.db import make_engine, migrate
from geo.errors import LantuError

app = typer.Typer(help=geo_cli.app.info.help, no_args_is_help=True, pretty_exceptions_enable=False)
app.registered_commands.extend(geo_cli.app.registered_commands)
app.registered_groups.extend(geo_cli.app.registered_groups)
keys_app = typer.Typer(
    help="密钥管理: API keys with roles: create, revoke, list (stored hashed; LANTU_DATABASE_URL).",
    no_args_is_help=True,
)
app.add_typer(keys_app, name="keys")
err = Console(stderr=True)


def _settings(**given: Any) -> Settings:
    try:
        return Settings(**given)
    except ValidationError as exc:
        err.print(f"错误 error: LANTU_* 设置有误 / settings: {exc.errors()[0]['msg']}", markup=False, highlight=False)
        raise typer.Exit(2) from exc


@app.callback()
def main(ctx: typer.Context, verbose: geo_cli.Verbose = False) -> None:
    geo_cli.configure_logging(verbose)
    settings = _settings()
    ctx.obj = CliContext(
        database_url=settings.database_url,
        pooling_share=settings.pooling_share,
        data_dir=settings.data_dir,
        coordinate_producer=settings.coordinate_producer,
        webhook_url=settings.webhook_url,
        webhook_secret=settings.webhook_secret,
        issuer=settings.issuer(),
        signing_secret=settings.signing_secret(),
        signing_key_file=settings.signing_key_file,
    )


@app.command("serve")
def serve_cmd(
    blueprint: Annotated[
        Path | None,
        typer.Option("--blueprint", "-b", help="蓝图目录 / blueprint directory (default: LANTU_BLUEPRINT)."),
    ] = None,
    host: Annotated[str | None, typer.Option(help="监听地址 / interface (default: LANTU_HOST or 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="端口 / port (default: LANTU_PORT or 8000).")] = None,
    open_demo: Annotated[
        bool,
        typer.Option("--open-demo", help="开放演示 / no API keys (loopback only; logged; default: keys required)."),
    ] = False,
) -> None:
    """启动服务: start the web service (FastAPI + uvicorn) with the map viewer at /."""
    import uvicorn

    from api.app import create_app
    from api.server import uvicorn_config

    given: dict[str, Any] = {
        k: v for k, v in {"blueprint": blueprint, "host": host, "port": port}.items() if v is not None
    }
    if open_demo:
        given["open_demo"] = True
    settings = _settings(**given)
    config = uvicorn_config(settings)
    listening = _listening(settings.host, settings.port, config["backlog"])  # a port taken: exit 3 at once
    try:
        app_ = create_app(settings)
        if settings.blueprint:
            load_blueprint(settings.blueprint)  # fail here, with exit 2, rather than inside the server
    except LantuError as exc:
        for sock in listening:
            sock.close()
        fail(exc)
    host = f"[{settings.host}]" if ":" in settings.host else settings.host  # an IPv6 address, as a URL writes it
    started = f"lantu 服务已启动 / serving on http://{host}:{settings.port}/  （API 文档 / docs: /docs）"

    class Announced(uvicorn.Server):
        """Says the service started once it has: its port bound and the app's start-up done (its blueprint
        loaded, its SIGHUP reload in place), not before either."""

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                err.print(started, markup=False, highlight=False)

    with contextlib.suppress(KeyboardInterrupt):  # uvicorn raises it again once shut down cleanly: a clean stop
        Announced(uvicorn.Config(app_, **config)).run(sockets=listening)


def _listening(host: str, port: int, backlog: int) -> list[socket.socket]:
    """Sockets bound to every address ``host`` names (``localhost``: 127.0.0.1 and ::1, as uvicorn binds them), for
    the server to listen on, or exit 3 saying why (a port another process holds): the start-up line was printed
    before uvicorn found the port taken, and a script waiting for the service went on against whatever held it."""
    bound: list[socket.socket] = []
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        for family, kind, proto, _, address in dict.fromkeys(found):
            sock = socket.socket(family, kind, proto)
            bound.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: a restart reuses its port
            if family == socket.AF_INET6:  # ::1 beside 127.0.0.1 on one port
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(backlog)  # from here a client waits in the queue while the app starts, rather than be refused
    except OSError as exc:
        for sock in bound:
            sock.close()
        err.print(
            f"error: 无法监听 {host}:{port}（{exc.strerror or exc}） / cannot listen on {host}:{port}: "
            f"{exc.strerror or exc}",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(3) from exc
    return bound


def _keys_engine(ctx: typer.Context) -> Engine:
    from api.keys import ensure_schema

    engine = make_engine(ctx.find_root().obj.database_url)
    migrate(engine)
    ensure_schema(engine)
    return engine


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="密钥名称 / who holds the key, e.g. project-system.")],
    role: Annotated[
        str, typer.Option(help="角色 / role: planner | project-system | quota-admin | admin | department.")
    ],
    department: Annotated[
        str | None,
        typer.Option(
            help="部门 / the department a department key answers for (layers/departments.yaml); default: none "
            "(a department key needs it)."
        ),
    ] = None,
) -> None:
    """创建密钥: create an API key and print it once (only its hash is stored)."""
    from api.keys import create_key
    from geo.consult import load_routing

    try:
        if department is not None:
            load_routing(data_dir=ctx.find_root().obj.data_dir).department(department)
        key = create_key(_keys_engine(ctx), name, role, department=department)
    except LantuError as exc:
        fail(exc)
    sys.stdout.write(key + "\n")
    err.print(
        f"已创建密钥 {name!r}（{role}），仅此一次显示 / key {name!r} ({role}) created; it is shown only now",
        markup=False,
        highlight=False,
    )


@keys_app.command("revoke")
def keys_revoke(ctx: typer.Context, name: Annotated[str, typer.Argument(help="密钥名称 / the key's name.")]) -> None:
    """吊销密钥: revoke an API key at once."""
    from api.keys import revoke_key

    try:
        revoke_key(_keys_engine(ctx), name)
    except LantuError as exc:
        fail(exc)
    err.print(f"已吊销密钥 {name!r} / key {name!r} revoked", markup=False, highlight=False)


@keys_app.command("list")
def keys_list(ctx: typer.Context) -> None:
    """密钥清单: list keys (names, roles, dates; never the keys)."""
    from api.keys import list_keys

    for row in list_keys(_keys_engine(ctx)):
        state = f"revoked {row['revoked']}" if row["revoked"] else "active"
        role = f"{row['role']}:{row['department']}" if row["department"] else row["role"]
        sys.stdout.write(f"{row['name']}\t{role}\t{row['created']}\t{state}\n")


def run() -> None:
    """The ``lantu`` command (``geo.cli.run``: usage errors in one line, both languages)."""
    geo_cli.run(app)


if __name__ == "__main__":
    run()
