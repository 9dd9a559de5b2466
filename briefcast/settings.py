"""One settings object for every process: API, workers, beat, sandboxes and the CLI."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Secrets that ship in this repository for local use; refused outside development.
DEV_JWT_SECRET = "briefcast-dev-secret-change-me-0123456789"  # noqa: S105
SANDBOX_TOKEN = "sandbox-token"  # noqa: S105
DEFAULT_JWT_KID = "default"  # the key id JWT_SECRET signs and verifies under


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    # Log lines: readable `console` lines, or one `json` object per line (production's default).
    log_format: Literal["console", "json"] = Field(
        default_factory=lambda data: "json" if data["environment"] == "production" else "console"
    )

    # PostgreSQL. Unset means: start the embedded server (see briefcast.embedded).
    database_url: str | None = None
    # Connections a worker process keeps open: match its thread count, or threads beyond it
    # open and close a connection (a new PostgreSQL backend) for every session they use.
    worker_db_pool_size: int = 5
    # Redis server without a db number; db 0 sessions and rate limits, 1 Celery, 2 cache.
    redis_url: str | None = None
    # Celery's broker. Unset: Redis db 1. `amqp://user:pass@host:5672/vhost`: RabbitMQ, with
    # Redis still the result backend and cache (README: "Choosing a broker").
    broker_url: str | None = None

    data_dir: Path = Path(".data")
    media_root: Path = Path(".data/media")
    # Base URL under which the API serves media; the Instagram sandbox fetches images from it.
    public_base_url: str = "http://127.0.0.1:8000"

    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    # Fernet key (urlsafe base64, 32 bytes) for platform tokens at rest; required in production.
    credentials_key: SecretStr | None = None
    jwt_algorithm: str = "HS256"
    # Bearer tokens name who issued them and for whom (`iss`, `aud`); any others are refused.
    jwt_issuer: str = "briefcast"
    jwt_audience: str = "briefcast-api"
    # Signing keys by id (a token's `kid` header), so keys rotate without logging anyone out:
    # JWT_KEYS='{"2026-07": "…", "2026-01": "…"}'. Every listed key verifies, JWT_ACTIVE_KID
    # signs. Unset: JWT_SECRET is the only key, as kid "default".
    jwt_keys: dict[str, SecretStr] = Field(default_factory=dict)
    jwt_active_kid: str = DEFAULT_JWT_KID
    max_body_bytes: int = 64 * 1024
    # Uploaded photos and logos: the request body limit, checked again after decoding.
    max_upload_bytes: int = 10 * 1024 * 1024
    max_upload_pixels: int = 40_000_000

    # Request rate limits at the API, counted in Redis db 0, in the `limits` notation
    # ("10/minute", "20/hour", "5 per 30 seconds"). Per client IP: content (POST briefs,
    # campaigns and campaign items) and images (uploads). Per user (token subject within its
    # organization): publishing (review approval, account connection) and analytics reads
    # (usage, runs, campaigns). Checked at start-up; a 429 answers with Retry-After.
    rate_limit_content: str = "10/minute"
    rate_limit_images: str = "5/minute"
    rate_limit_publishing: str = "20/hour"
    rate_limit_analytics: str = "100/minute"
    # Briefs an organization may submit per UTC day through the API (0: no quota).
    briefs_per_org_per_day: int = Field(default=5000, ge=0)
    # Browser origins allowed to call the API (comma-separated or a JSON list); none: no CORS.
    cors_allow_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Host headers answered in production (TrustedHostMiddleware; "*.example.com" allowed);
    # none: only PUBLIC_BASE_URL's host. Include the names health checks use.
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("cors_allow_origins", "allowed_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            import json

            text = value.strip()
            value = json.loads(text) if text.startswith("[") else text.split(",")
        if isinstance(value, list):
            # "https://app.example.com/" as a browser sends it: without the slash.
            value = [str(entry).strip().rstrip("/") for entry in value if str(entry).strip()]
        return value

    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None  # unset: the SDK's default, api.openai.com
    openai_model: str = "gpt-4o-mini"
    # The chain: primary model → fallback model → offline copywriter.
    openai_fallback_model: str | None = "gpt-4o"
    openai_timeout_s: float = 30.0
    openai_attempts: int = 3  # per model, with backoff on 429, 5xx and timeouts
    copy_cache_ttl_s: int = 7 * 86400
    instagram_hashtag_cap: int = 30
    # At an organization's monthly budget: write copy offline, or stop the run.
    budget_exhausted_action: Literal["offline", "stop"] = "offline"
    # How many times the gate sends copy back for rewriting before a person must review it.
    max_regenerations: int = 2

    instagram_graph_base_url: str = "http://127.0.0.1:8101"
    instagram_api_version: str = "v25.0"
    instagram_user_id: str = "17841400000000001"
    instagram_access_token: SecretStr = SecretStr(SANDBOX_TOKEN)

    linkedin_api_base_url: str = "http://127.0.0.1:8102"
    linkedin_version: str = "202608"
    linkedin_author_urn: str = "urn:li:organization:2414183"
    linkedin_access_token: SecretStr = SecretStr(SANDBOX_TOKEN)
    # Publish for organizations without a connected account through the account above.
    # Unset: allowed in development and test (the sandboxes), refused in production, where
    # it would post to someone else's account; such posts wait for a connected account.
    allow_settings_account: bool | None = None

    # The copy gate: a combined sentiment score below this stops the run for review.
    sentiment_floor: float = -0.25
    # Seconds after publishing at which metric snapshots are due (+15 min, +1 h, +6 h, +24 h,
    # +72 h, +7 d): early and often while the numbers move fast, then sparse.
    metric_offsets_s: list[int] = Field(
        default_factory=lambda: [900, 3600, 21600, 86400, 259200, 604800]
    )
    # A claimed post whose worker went silent this long is claimed again.
    publish_lease_s: int = 120
    # Posts of one platform account in flight at once (platforms throttle bursts).
    publish_concurrency_per_account: int = 4
    # A run with no progress for this long in a stage before publishing is nudged again.
    stuck_run_after_s: int = 600
    outbox_sweep_after_s: int = 5
    # Campaign occurrences due within this become runs now (copy and image made ahead).
    campaign_horizon_s: float = Field(default=300.0, gt=0)
    http_timeout_s: float = 10.0
    # Hosts a brief's photo_url may name although they resolve to private addresses (host
    # names, IPs or CIDR ranges; comma-separated or a JSON list). Everything else must be public.
    photo_fetch_allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # A Celery worker's main process serves its metrics on this port (containers; unset: no).
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)

    @field_validator("photo_fetch_allowed_hosts", mode="before")
    @classmethod
    def _photo_fetch_hosts(cls, value: object) -> object:
        import json

        from briefcast.pipeline.render.safe_fetch import AllowList

        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else text.split(",")
        if isinstance(value, list):
            value = [str(entry).strip() for entry in value if str(entry).strip()]
            AllowList.parse(value)  # a malformed range fails at start-up, not at render time
        return value

    @model_validator(mode="after")
    def _refuse_dev_secrets_in_production(self) -> Settings:
        if self.environment == "production":
            if DEV_JWT_SECRET in self.jwt_keyring.values():
                raise ValueError("JWT_SECRET (or JWT_KEYS) must be a real secret in production")
            if self.database_url is None or self.redis_url is None:
                raise ValueError("DATABASE_URL and REDIS_URL are required in production")
            if self.credentials_key is None:
                raise ValueError("CREDENTIALS_KEY is required in production (Fernet key)")
            for name in ("instagram_access_token", "linkedin_access_token"):
                if getattr(self, name).get_secret_value() == SANDBOX_TOKEN:
                    raise ValueError(f"{name.upper()} is the sandbox token in production")
        return self

    @model_validator(mode="after")
    def _check_jwt_keys(self) -> Settings:
        if any(not secret for secret in self.jwt_keyring.values()):
            raise ValueError("JWT_SECRET and every key in JWT_KEYS must be non-empty")
        if self.jwt_active_kid not in self.jwt_keyring:
            raise ValueError(f"JWT_ACTIVE_KID {self.jwt_active_kid!r} names no key in JWT_KEYS")
        return self

    @property
    def jwt_keyring(self) -> dict[str, str]:
        """Key id → secret: JWT_KEYS when set, else JWT_SECRET as kid "default"."""
        if self.jwt_keys:
            return {kid: key.get_secret_value() for kid, key in self.jwt_keys.items()}
        return {DEFAULT_JWT_KID: self.jwt_secret.get_secret_value()}

    def redis_db_url(self, db: int) -> str:
        if self.redis_url is None:
            raise RuntimeError("REDIS_URL is not set and no embedded Redis was started")
        return f"{self.redis_url.rstrip('/')}/{db}"

    @property
    def redis_sessions_url(self) -> str:
        return self.redis_db_url(0)

    @property
    def redis_celery_url(self) -> str:
        return self.redis_db_url(1)

    @property
    def redis_cache_url(self) -> str:
        return self.redis_db_url(2)

    @property
    def settings_account_allowed(self) -> bool:
        if self.allow_settings_account is not None:
            return self.allow_settings_account
        return self.environment != "production"

    @property
    def uses_openai(self) -> bool:
        return self.openai_api_key is not None


@lru_cache
def get_settings() -> Settings:
    return Settings()
