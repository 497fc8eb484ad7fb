"""Service configuration from ``LOSS_SERVICE_*`` environment variables (pydantic-settings).

``create_app(settings)`` receives a Settings instance; nothing reads the environment at import.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MiB = 1024 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOSS_SERVICE_", extra="ignore")

    host: str = Field("127.0.0.1", description="Interface to bind (the Docker image sets 0.0.0.0).")
    port: int = Field(8000, ge=0, le=65535, description="TCP port.")
    workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes.")
    max_body_bytes: int = Field(
        64 * MiB, ge=1024, description="Largest request body accepted, in bytes (413 above)."
    )
    max_elements: int = Field(
        4_000_000, ge=1, description="Largest number of elements in one array (413 above)."
    )
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated Bearer keys; empty means no authentication.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated origins allowed by CORS; none if empty."
    )
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    log_format: Literal["text", "json"] = "text"
    gzip_min_bytes: int = Field(
        0,
        ge=0,
        description="Gzip responses of at least this many bytes to clients that accept it; 0 = never.",
    )
    # Slow and hostile clients, and shutdown (uvicorn's settings, plus two of our own).
    timeout_keep_alive: int = Field(5, ge=1, description="Seconds an idle keep-alive connection stays open.")
    timeout_headers: float = Field(
        10.0, gt=0, description="Seconds a client has to send a request's headers, from its first byte."
    )
    timeout_body: float = Field(
        30.0, gt=0, description="Seconds the service waits for the next chunk of a request body (408 after)."
    )
    limit_concurrency: int = Field(
        0, ge=0, description="Connections plus requests per worker before uvicorn answers 503; 0 = no limit."
    )
    backlog: int = Field(
        2048, ge=1, description="Pending connections the kernel queues per listening socket."
    )
    timeout_graceful_shutdown: int = Field(
        30, ge=1, description="Seconds in-flight requests get to complete after shutdown starts."
    )
    shutdown_drain_seconds: float = Field(
        0.0,
        ge=0,
        description="On SIGTERM, seconds /readyz answers 503 while requests are still served, before the "
        "listening socket closes (give the load balancer time to notice).",
    )

    # Run history (SPEC §7).
    database_url: str = Field(
        "sqlite:///loss-service.db",
        description="SQLAlchemy URL of the history database: sqlite:///path (relative to the working "
        "directory) or postgresql+psycopg://user:password@host:5432/db.",
    )
    database_pool_size: int = Field(
        5, ge=1, le=100, description="Database connections (and database threads) per worker process."
    )
    database_timeout: float = Field(
        5.0,
        gt=0,
        description="Seconds to wait for a database connection (PostgreSQL) or for another process's "
        "write (SQLite) before answering 503.",
    )
    sqlite_synchronous: Literal["normal", "full"] = Field(
        "normal",
        description="SQLite's synchronous mode: 'normal' (WAL) keeps every answered batch through a crash "
        "of the service; 'full' also through a crash of the machine, at about 10x the cost of a commit.",
    )

    # Run metrics in /metrics (computed from the history database at each scrape).
    metrics_max_runs: int = Field(
        50,
        ge=0,
        le=10_000,
        description="Most runs exported in /metrics (the most recently updated); 0 exports none.",
    )
    metrics_recent_seconds: int = Field(
        3600, ge=1, description="A run is exported while its last batch time is at most this old."
    )
    metrics_window_seconds: int = Field(
        300, ge=1, description="The trailing window of loss_service_run_window_value, in seconds."
    )

    @field_validator("api_keys", "cors_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value
