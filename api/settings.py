"""Service settings from ``LANTU_*`` environment variables (pydantic-settings)."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from geo.papers import Issuer


def default_key_file() -> Path | None:
    """The signing key file in lantu's folder of the user's data directory (XDG: ``$XDG_DATA_HOME``, else
    ``~/.local/share``); None for a user without a home folder."""
    try:
        data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    except RuntimeError:  # no HOME and no password entry
        return None
    return data / "lantu" / "signing.key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LANTU_", env_file=None, extra="ignore")

    environment: Literal["development", "production"] = "development"
    blueprint: Path | None = Field(default=None, description="blueprint directory loaded at start-up")
    blueprint_root: Path | None = Field(default=None, description="a blueprint must lie under this directory")
    database_url: str = Field(default="sqlite:///lantu.db", description="SQLite file or PostgreSQL URL")
    signing_key: SecretStr | None = Field(
        default=None,
        description="the secret (16 characters or more) signing review result files (geo.signing); installations "
        "given the same one verify each other's files; None: the key file",
    )
    signing_key_file: Path | None = Field(
        default_factory=default_key_file,
        description="the key file signing review result files when no LANTU_SIGNING_KEY is given: 32 random "
        "bytes, mode 0600, made by the first review (default: the user's data directory)",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    open_demo: bool = Field(default=False, description="no API keys: loopback demo only, logged")
    api_keys_file: Path | None = Field(default=None, description="name,role,sha256 lines imported at start-up")
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    max_vertices: int = Field(default=200_000, gt=0)
    max_parcels: int = Field(default=2_000, gt=0)
    max_review_cost: int = Field(
        default=50_000_000,
        gt=0,
        description="a request's estimated review cost in vertex pairs (geo.review.engine.overlay_cost; about "
        "0.1 µs each on a 2-core EPYC) above which it is refused with 413 at once, before its overlay: spiky "
        "outlines cost far more than their vertices (SECURITY.md)",
    )
    max_paper_parcels: int = Field(
        default=250,
        gt=0,
        description="parcels of a review above which its PDF report is refused with 413 at once, before any work "
        "is queued: its layout takes some 23 ms a parcel on a quiet 2-core EPYC and twice that loaded (500 "
        "parcels 11.5 s quiet, 17.6-20.6 s loaded; 2,000 110 s loaded), and the default keeps it within a "
        "quarter of LANTU_WORK_TIMEOUT (SECURITY.md)",
    )
    max_page_parcels: int = Field(
        default=2_000,
        gt=0,
        description="parcels of a review above which its map, HTML report and opinion (Markdown, Word or JSON) "
        "are refused with 413 at once (2,000 parcels: 4.7-8.4 s each on a loaded 2-core EPYC, the Word opinion "
        "14 s quiet); the review's own JSON is never refused",
    )
    max_renders_per_key: int | None = Field(
        default=None,
        ge=1,
        description="papers (maps, reports, opinions) one key may have rendering or waiting for a worker at "
        "once before 429; None: half of LANTU_WORKERS, at least 1, so that one key cannot hold every worker",
    )
    isolate_above_cost: int = Field(
        default=2_000_000,
        ge=0,
        description="a review's estimated cost (as for LANTU_MAX_REVIEW_COST) above which it runs in a child "
        "process forked for it and killed at LANTU_WORK_TIMEOUT, freeing its worker (a thread cannot be "
        "stopped mid-call); 0: every review. With a city blueprint in memory the child costs 0.2-0.35 s more "
        "than a review on the worker's thread (SECURITY.md)",
    )
    isolate_above_vertices: int = Field(
        default=20_000,
        ge=0,
        description="a review or comparison with a parcel of more vertices runs in a forked child too, "
        "whatever its estimate: GEOS's validity check and repair of a parcel grow faster than its vertices "
        "(an invalid comb of 160,000: 11 s; of 20,000: 0.6 s)",
    )
    tiles: Literal["auto", "tianditu", "offline", "osm", "none"] = Field(
        default="auto",
        description="map base: auto = 天地图 with a key, else the offline base from the blueprint's county and "
        "water; osm only when asked (not an approved base for official Chinese maps)",
    )
    tianditu_key: str | None = Field(default=None, description="天地图 browser key (tk), shown to the viewer's pages")
    profile: str = "ten-point"
    data_dir: Path | None = Field(
        default=None, description="the user's own profiles/ and standards/, searched before the packaged ones"
    )
    max_extracted_bytes: int = Field(
        default=64 * 1024 * 1024, gt=0, description="what an uploaded archive may expand to, in total"
    )
    workers: int = Field(
        default=min(4, os.cpu_count() or 1), ge=1, le=64, description="threads for parsing, review and rendering"
    )
    queue: int = Field(default=32, ge=0, le=10_000, description="jobs waiting for a worker before 429")
    work_timeout: float = Field(default=60.0, gt=0, description="seconds one parse, review or rendering may take")
    allowed_hosts: list[str] = Field(
        default=["*"], description="Host header values served ('*' = any; open demo: loopback names only)"
    )
    session_hours: float = Field(default=8.0, gt=0, le=24 * 30, description="viewer session lifetime")
    cookie_secure: bool | None = Field(default=None, description="Secure cookies: None = when the request is HTTPS")
    header_timeout: float = Field(default=10.0, gt=0, description="seconds a client may take to send its headers")
    body_timeout: float = Field(default=60.0, gt=0, description="seconds a client may take to send its body")
    keep_alive: int = Field(default=5, ge=1, le=300, description="idle keep-alive seconds")
    limit_concurrency: int = Field(default=512, ge=1, description="connections before uvicorn answers 503")
    forwarded_allow_ips: str = Field(
        default="127.0.0.1", description="proxies whose X-Forwarded-For/-Proto are trusted (uvicorn)"
    )
    database_lock_timeout: float = Field(
        default=5.0, gt=0, le=60, description="seconds a request waits for a locked SQLite database before 503"
    )
    coordinate_producer: str | None = Field(
        default=None, max_length=200, description="数据产生单位 written into coordinate text (.txt) files"
    )
    issuer_unit: str = Field(
        default="（审查单位）", min_length=1, max_length=100, description="审查单位 printed on reports and opinions"
    )
    issuer_code: str = Field(default="", max_length=30, description="发文机关代字 before 〔year〕 in document numbers")
    issuer_reviewer: str | None = Field(default=None, max_length=50, description="审查人 in the signature block")
    issuer_signer: str | None = Field(default=None, max_length=50, description="审核人 in the signature block")
    opinion_template: str = Field(
        default="default",
        pattern=r"^[A-Za-z0-9_-]+$",
        description="the 审查意见 wording: layers/opinions/<name>.yaml (or the data directory's)",
    )
    pooling_share: float = Field(default=0.3, ge=0, lt=1, description="share of county land_new pooled by the city")
    webhook_url: str | None = Field(
        default=None, max_length=2000, description="业务协同 events (task created, consultation completed) POSTed here"
    )
    webhook_secret: str | None = Field(
        default=None, min_length=16, max_length=200, description="HMAC-SHA256 key signing each webhook body"
    )

    def signing_secret(self) -> str | None:
        """``LANTU_SIGNING_KEY`` as text; None where the key file signs (``geo.signing.installation_key``)."""
        return self.signing_key.get_secret_value() if self.signing_key else None

    def renders_per_key(self) -> int:
        """``max_renders_per_key``, or half the workers (at least 1) where it is not set."""
        return self.max_renders_per_key or max(1, self.workers // 2)

    def issuer(self) -> Issuer:
        """The issuing unit as the library takes it."""
        return Issuer(
            unit=self.issuer_unit,
            code=self.issuer_code,
            template=self.opinion_template,
            reviewer=self.issuer_reviewer,
            signer=self.issuer_signer,
        )

    @model_validator(mode="after")
    def _safe(self) -> Settings:
        if self.open_demo and not _is_loopback(self.host):
            raise ValueError(f"open demo mode (no API keys) is allowed on loopback only, not on {self.host}")
        if self.environment == "production":
            if self.open_demo:
                raise ValueError("open demo mode is not allowed in production")
            if self.database_url.startswith("sqlite") and ":memory:" in self.database_url:
                raise ValueError("production needs a persistent database")
            if self.webhook_url and not self.webhook_url.startswith("https://"):
                raise ValueError("production webhooks need an https:// LANTU_WEBHOOK_URL (the body carries opinions)")
        if self.webhook_url and not self.webhook_secret:
            raise ValueError("LANTU_WEBHOOK_URL needs LANTU_WEBHOOK_SECRET (the receiver checks the signature)")
        if self.webhook_url and not self.webhook_url.startswith(("https://", "http://")):
            raise ValueError("LANTU_WEBHOOK_URL must be an http(s) URL")
        if self.tiles == "tianditu" and not self.tianditu_key:
            raise ValueError("tiles=tianditu needs LANTU_TIANDITU_KEY")
        if (
            self.blueprint
            and self.blueprint_root
            and not self.blueprint.resolve().is_relative_to(self.blueprint_root.resolve())
        ):
            raise ValueError(f"blueprint {self.blueprint} is outside the blueprint root {self.blueprint_root}")
        return self


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
