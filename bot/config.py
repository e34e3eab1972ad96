"""Settings: environment variables first, then an optional ``leadbot.toml``.

Every setting has one environment name (``LEADBOT_…``; ``DATABASE_URL`` keeps its
conventional name) and one TOML key (the field name). A wrong value must stop
start-up with a single line an operator can act on, so validation errors are
rewritten by :func:`load_settings` into :class:`ConfigError`.
"""

from __future__ import annotations

import os
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///leadbot.db"
CONFIG_FILE_ENV = "LEADBOT_CONFIG"


def _alias(name: str, *extra: str) -> AliasChoices:
    """Accept the environment name and the plain TOML key for one field."""
    return AliasChoices(f"LEADBOT_{name.upper()}", name, *extra)


# What each setting expects, in words, for the one-line start-up error.
EXPECTED: dict[str, str] = {
    "token": "the bot token from @BotFather, like 123456:ABC-DEF…",
    "admins": "comma-separated Telegram user ids, e.g. 12345,67890",
    "database_url": "sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER:PASS@HOST/DB",
    "tz": "an IANA time zone name such as Asia/Shanghai",
    "locale": "zh_CN or en",
    "bot_api_url": "an http(s) URL ending in /bot, e.g. http://localhost:8081/bot",
    "invite_ttl_hours": "a whole number of hours between 1 and 8760",
    "deadline_weekday": "a weekday number, Monday=0 … Sunday=6",
    "deadline_time": "a time of day as HH:MM",
    "form_timeout_minutes": "a whole number of minutes between 1 and 10080",
    "industries": "a comma-separated list of industry names",
    "origins": "a comma-separated list of investor origins",
    "stages": "a comma-separated list of at least two stage names, in order",
    "tags": "a comma-separated list of tags",
    "channels": "a comma-separated list of channels",
    "near_match_threshold": "a similarity between 50 and 100",
}

DEFAULT_INDUSTRIES = [
    "新能源", "新材料", "新基建", "装备制造", "生物医药", "精细化工",
    "大数据和新一代信息技术", "现代服务业", "文化旅游", "现代农业", "其他",
]  # seed 000 三(一)2: 新能源、新材料、新基建、装备制造、生物医药、精细化工 …
DEFAULT_ORIGINS = ["境外", "省外", "省内市外", "市内县外", "本地"]
DEFAULT_STAGES = ["线索", "在谈", "签约", "落地", "开工", "入统", "投产"]
DEFAULT_TAGS = ["高新技术", "世界500强", "中国500强", "央企国企", "上市公司", "民营500强", "专精特新", "独角兽"]
DEFAULT_CHANNELS = ["以商招商", "展会", "委托", "网络", "其他"]
StrList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    """The bot's whole configuration; one instance is built at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="LEADBOT_",
        extra="ignore",
        populate_by_name=True,
        case_sensitive=False,
    )

    token: SecretStr | None = Field(default=None, validation_alias=_alias("token"))
    admins: Annotated[list[int], NoDecode] = Field(
        default_factory=list, validation_alias=_alias("admins")
    )
    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("DATABASE_URL", "LEADBOT_DATABASE_URL", "database_url"),
    )
    tz: str = Field(default="Asia/Shanghai", validation_alias=_alias("tz"))
    locale: Literal["zh_CN", "en"] = Field(default="zh_CN", validation_alias=_alias("locale"))
    bot_api_url: str | None = Field(default=None, validation_alias=_alias("bot_api_url"))
    invite_ttl_hours: int = Field(
        default=168, ge=1, le=8760, validation_alias=_alias("invite_ttl_hours")
    )
    deadline_weekday: int = Field(default=3, ge=0, le=6, validation_alias=_alias("deadline_weekday"))
    deadline_time: time = Field(default=time(17, 0), validation_alias=_alias("deadline_time"))
    form_timeout_minutes: int = Field(
        default=60, ge=1, le=10080, validation_alias=_alias("form_timeout_minutes")
    )

    industries: StrList = Field(default_factory=lambda: list(DEFAULT_INDUSTRIES), validation_alias=_alias("industries"))
    origins: StrList = Field(default_factory=lambda: list(DEFAULT_ORIGINS), validation_alias=_alias("origins"))
    stages: StrList = Field(default_factory=lambda: list(DEFAULT_STAGES), validation_alias=_alias("stages"))
    tags: StrList = Field(default_factory=lambda: list(DEFAULT_TAGS), validation_alias=_alias("tags"))
    channels: StrList = Field(default_factory=lambda: list(DEFAULT_CHANNELS), validation_alias=_alias("channels"))
    near_match_threshold: float = Field(
        default=90.0, ge=50, le=100, validation_alias=_alias("near_match_threshold")
    )

    @field_validator("industries", "origins", "stages", "tags", "channels", mode="before")
    @classmethod
    def _split_names(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.replace("，", ",").split(",")
        if isinstance(value, list):
            names = [str(v).strip() for v in value if str(v).strip()]
            if len(set(names)) != len(names):
                raise ValueError("names repeat")
            if not names:
                raise ValueError("empty list")
            if any(len(n) > 40 for n in names):
                raise ValueError("a name is longer than 40 characters")
            return names
        return value

    @field_validator("stages")
    @classmethod
    def _two_stages(cls, value: list[str]) -> list[str]:
        if len(value) < 2:
            raise ValueError("at least two stages")
        return value

    @field_validator("admins", mode="before")
    @classmethod
    def _split_admins(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",")]
            return [p for p in parts if p]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(f"unsupported database URL {value.split('://')[0]!r}")
        return value

    @field_validator("bot_api_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("not an http(s) URL")
        return value or None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = Path(os.environ.get(CONFIG_FILE_ENV, "leadbot.toml"))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def token_value(self) -> str | None:
        return self.token.get_secret_value() if self.token else None


class ConfigError(Exception):
    """A setting is wrong; the message is the one line printed before exiting."""


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning pydantic's report into one actionable line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    except (OSError, ValueError) as exc:  # unreadable or malformed leadbot.toml
        raise ConfigError(f"config error: {exc}") from None


def _describe(exc: ValidationError) -> str:
    err = exc.errors()[0]
    field = str(err["loc"][0]) if err["loc"] else "?"
    env = "DATABASE_URL" if field == "database_url" else f"LEADBOT_{field.upper()}"
    got = err.get("input")
    expected = EXPECTED.get(field, err["msg"])
    shown = "" if field == "token" else f", got {str(got)[:60]!r}"
    return f"config error: {env} ({field}): expected {expected}{shown}"
