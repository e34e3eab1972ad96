"""Settings: environment variables first, then an optional ``leadbot.toml``.

Every setting has one environment name (``LEADBOT_…``; ``DATABASE_URL`` keeps its
conventional name) and one TOML key (the field name). A wrong value must stop
start-up with a single line an operator can act on, so validation errors are
rewritten by :func:`load_settings` into :class:`ConfigError`.
"""

from __future__ import annotations

import os
import re
from datetime import date, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
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
    "admins": "comma-separated Telegram user ids (positive numbers; ask @userinfobot), e.g. 12345,67890",
    "dingtalk_admins": "comma-separated DingTalk staff ids (userid), e.g. manager1234,0612",
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
    "rules_file": "a rules preset (jiaocheng or kaihua) or the path of a rules TOML file",
    "rank_default_period": "week, month, quarter or year",
    "board_top_n": "a whole number between 1 and 50",
    "targets": 'a list of tables such as [[targets]] name = "签约亿元以上项目" stage = "签约" min_amount_wan = 10000 count = 2',
    "targets_file": "the path of a TOML file with [[targets]] tables",
    "digest_half_monthly": "true or false (the half-monthly roll-up on the 1st and 16th)",
    "digest_monthly": "true or false (the monthly progress notice on the first working day)",
    "digest_quarterly": "true or false (the quarterly evaluation on the first working day of a quarter)",
    "digest_annual": "true or false (the annual assessment on the first working day of the year)",
    "digest_hour": "an hour of the day between 0 and 23",
    "confirmation_required": "true or false (the unit head confirms each weekly submission)",
    "reminder_offsets": "comma-separated durations before the deadline, each under 7 days, e.g. 24h,8h,2h,30m",
    "quiet_hours": "HH:MM-HH:MM (e.g. 22:00-08:00), or off",
    "reminder_grace_minutes": "a whole number of minutes between 0 and 1440",
    "leaders_missing_offset": "a duration before the deadline under 7 days, e.g. 2h or 90m",
    "extra_holidays": "comma-separated dates YYYY-MM-DD (days off the calendar package does not know)",
    "extra_workdays": "comma-separated dates YYYY-MM-DD (make-up working days the calendar package does not know)",
    "holiday_shift": "true or false (move a deadline on a public holiday to the previous working day)",
    "webhook_url": "the public https URL Telegram posts to, without the path, e.g. https://bot.example.com",
    "webhook_path": "a URL path starting with /, e.g. /telegram",
    "webhook_secret": "1-256 characters A-Z, a-z, 0-9, _ or -, e.g. from `openssl rand -hex 32`",
    "webhook_listen": "an address to listen on, e.g. 0.0.0.0 or 127.0.0.1",
    "webhook_port": "a TCP port between 1 and 65535",
    "webhook_drop_pending": "true or false",
    "web_url": "the public https base URL of the web app, e.g. https://bot.example.com (http only for 127.0.0.1 or localhost)",
    "web_port": "a TCP port between 1 and 65535",
    "web_secret": "at least 16 characters, e.g. from `openssl rand -hex 32`",
    "web_initdata_max_age": "seconds between 60 and 604800",
    "log_level": "DEBUG, INFO, WARNING or ERROR",
    "log_json": "true or false",
    "leader_retry_seconds": "seconds between 0.1 and 3600",
    "leader_takeover_seconds": "seconds, at least twice LEADBOT_LEADER_RETRY_SECONDS",
    "inbox_lease_seconds": "seconds (0.5 to 3600) an instance holds an update it is handling",
}
# Settings whose value is never echoed back in an error line.
# DingTalk alone: PTB's Application is still the container of the schedule and the outbox,
# built with this stand-in token and never started against Telegram
# (``LeadbotApplication.start_without_telegram``).
NO_TELEGRAM_TOKEN = "0:no-telegram"
DINGTALK_JSAPI_URL = "https://g.alicdn.com/dingding/dingtalk-jsapi/2.10.3/dingtalk.open.js"
SECRET_FIELDS = frozenset({"token", "webhook_secret", "web_secret"})

DEFAULT_INDUSTRIES = [
    "新能源",
    "新材料",
    "新基建",
    "装备制造",
    "生物医药",
    "精细化工",
    "大数据和新一代信息技术",
    "现代服务业",
    "文化旅游",
    "现代农业",
    "其他",
]  # seed 000 三(一)2: 新能源、新材料、新基建、装备制造、生物医药、精细化工 …
DEFAULT_ORIGINS = ["境外", "省外", "省内市外", "市内县外", "本地"]
DEFAULT_STAGES = ["线索", "在谈", "签约", "落地", "开工", "入统", "投产"]
DEFAULT_TAGS = [
    "高新技术",
    "世界500强",
    "中国500强",
    "央企国企",
    "上市公司",
    "民营500强",
    "专精特新",
    "独角兽",
]
DEFAULT_CHANNELS = ["以商招商", "展会", "委托", "网络", "其他"]
# Seed 001: every department has an annual target of at least one project over 100M yuan.
DEFAULT_TARGETS = [
    {"name": "签约亿元以上项目", "stage": "签约", "min_amount_wan": 10000, "count": 1}
]
StrList = Annotated[list[str], NoDecode]
DEFAULT_REMINDER_OFFSETS = [
    timedelta(hours=24),
    timedelta(hours=8),
    timedelta(hours=2),
    timedelta(minutes=30),
]
_DURATION = re.compile(
    r"(?:(\d+)\s*(?:d|天))?\s*(?:(\d+)\s*(?:h|小时|时))?\s*(?:(\d+)\s*(?:m|min|分钟|分))?\s*(?:(\d+)\s*(?:s|sec|秒))?",
    re.IGNORECASE,
)
_QUIET = re.compile(r"(\d{1,2}):(\d{2})\s*[-–—~～至到]\s*(\d{1,2}):(\d{2})")
_OFF = ("", "off", "none", "no", "false", "关闭", "无")


def parse_duration(value: Any) -> timedelta:
    """``24h``, ``30m``, ``1h30m``, ``1d``, ``45s``, a timedelta, or minutes as a number; 0 < d < 7 days."""
    if isinstance(value, timedelta):
        found = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        found = timedelta(minutes=value)
    elif isinstance(value, str) and value.strip():
        match = _DURATION.fullmatch(value.strip())
        if match is None or not any(match.groups()):
            raise ValueError(f"not a duration: {value!r}")
        days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
        found = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    else:
        raise ValueError(f"not a duration: {value!r}")
    if not timedelta(0) < found < timedelta(days=7):
        raise ValueError(f"duration out of range: {value!r}")
    return found


def parse_quiet_hours(value: Any) -> tuple[time, time] | None:
    """``22:00-08:00`` → (22:00, 08:00); ``off``/empty → None. The window may wrap midnight."""
    if (
        value is None
        or value is False
        or (isinstance(value, str) and value.strip().lower() in _OFF)
    ):
        return None
    if isinstance(value, (list, tuple)) and len(value) == 2:
        value = f"{value[0]}-{value[1]}"
    match = _QUIET.fullmatch(str(value).strip())
    if match is None:
        raise ValueError(f"not a time window: {value!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = time(h1, m1), time(h2, m2)  # ValueError for 25:00
    if start == end:
        raise ValueError("quiet hours start and end at the same time")
    return start, end


class Settings(BaseSettings):
    """The bot's whole configuration; one instance is built at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="LEADBOT_",
        extra="ignore",
        populate_by_name=True,
        case_sensitive=False,
    )
    # The scoring setup built from these settings (bot.services.scoring.setup_for), kept on the
    # instance with the values it was built from, so no module holds a cache.
    _scoring_memo: tuple[tuple[Any, ...], Any] | None = PrivateAttr(default=None)

    token: SecretStr | None = Field(default=None, validation_alias=_alias("token"))
    admins: Annotated[list[int], NoDecode] = Field(
        default_factory=list, validation_alias=_alias("admins")
    )
    # DingTalk (钉钉) Stream mode, docs/dingtalk.md: the internal app's AppKey/AppSecret, its
    # robot's robotCode and the staff ids of the first DingTalk admins.
    dingtalk_client_id: str | None = Field(
        default=None, validation_alias=_alias("dingtalk_client_id")
    )
    dingtalk_client_secret: SecretStr | None = Field(
        default=None, validation_alias=_alias("dingtalk_client_secret")
    )
    dingtalk_robot_code: str | None = Field(
        default=None, validation_alias=_alias("dingtalk_robot_code")
    )
    dingtalk_admins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=_alias("dingtalk_admins")
    )
    # The web app as a DingTalk H5 micro app (工作台, docs/web.md): the organisation's CorpId,
    # which the page needs for 免登, and where the page loads DingTalk's JSAPI from.
    dingtalk_corp_id: str | None = Field(default=None, validation_alias=_alias("dingtalk_corp_id"))
    dingtalk_jsapi_url: str = Field(
        default=DINGTALK_JSAPI_URL, validation_alias=_alias("dingtalk_jsapi_url")
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
    deadline_weekday: int = Field(
        default=3, ge=0, le=6, validation_alias=_alias("deadline_weekday")
    )
    deadline_time: time = Field(default=time(17, 0), validation_alias=_alias("deadline_time"))
    form_timeout_minutes: int = Field(
        default=60, ge=1, le=10080, validation_alias=_alias("form_timeout_minutes")
    )

    industries: StrList = Field(
        default_factory=lambda: list(DEFAULT_INDUSTRIES), validation_alias=_alias("industries")
    )
    origins: StrList = Field(
        default_factory=lambda: list(DEFAULT_ORIGINS), validation_alias=_alias("origins")
    )
    stages: StrList = Field(
        default_factory=lambda: list(DEFAULT_STAGES), validation_alias=_alias("stages")
    )
    tags: StrList = Field(
        default_factory=lambda: list(DEFAULT_TAGS), validation_alias=_alias("tags")
    )
    channels: StrList = Field(
        default_factory=lambda: list(DEFAULT_CHANNELS), validation_alias=_alias("channels")
    )
    near_match_threshold: float = Field(
        default=90.0, ge=50, le=100, validation_alias=_alias("near_match_threshold")
    )
    # The near-match index in a process of its own (its memory stays out of the bot's);
    # off: in the bot's process (docs/first-report.md "The index's process").
    near_index_process: bool = Field(default=True, validation_alias=_alias("near_index_process"))

    # Scoring and ranking (docs/scoring-guide.md).
    rules_file: str = Field(
        default="jiaocheng", min_length=1, validation_alias=_alias("rules_file")
    )
    rank_default_period: Literal["week", "month", "quarter", "year"] = Field(
        default="month", validation_alias=_alias("rank_default_period")
    )
    board_top_n: int = Field(default=5, ge=1, le=50, validation_alias=_alias("board_top_n"))
    targets: list[dict[str, Any]] = Field(
        default_factory=lambda: [dict(t) for t in DEFAULT_TARGETS],
        validation_alias=_alias("targets"),
    )
    targets_file: str | None = Field(default=None, validation_alias=_alias("targets_file"))

    # Periodic reports for leaders (docs/user/reports.md): which go out, from what hour.
    digest_half_monthly: bool = Field(default=True, validation_alias=_alias("digest_half_monthly"))
    digest_monthly: bool = Field(default=True, validation_alias=_alias("digest_monthly"))
    digest_quarterly: bool = Field(default=True, validation_alias=_alias("digest_quarterly"))
    digest_annual: bool = Field(default=True, validation_alias=_alias("digest_annual"))
    digest_hour: int = Field(default=9, ge=0, le=23, validation_alias=_alias("digest_hour"))

    # Weekly cycle (docs/weekly-guide.md): confirmation, reminders, calendar corrections.
    confirmation_required: bool = Field(
        default=True, validation_alias=_alias("confirmation_required")
    )
    reminder_offsets: Annotated[list[timedelta], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_REMINDER_OFFSETS),
        validation_alias=_alias("reminder_offsets"),
    )
    quiet_hours: str = Field(default="22:00-08:00", validation_alias=_alias("quiet_hours"))
    reminder_grace_minutes: int = Field(
        default=60, ge=0, le=1440, validation_alias=_alias("reminder_grace_minutes")
    )
    leaders_missing_offset: timedelta = Field(
        default=timedelta(hours=2), validation_alias=_alias("leaders_missing_offset")
    )
    extra_holidays: Annotated[list[date], NoDecode] = Field(
        default_factory=list, validation_alias=_alias("extra_holidays")
    )
    extra_workdays: Annotated[list[date], NoDecode] = Field(
        default_factory=list, validation_alias=_alias("extra_workdays")
    )
    holiday_shift: bool = Field(default=True, validation_alias=_alias("holiday_shift"))

    # Operations: `leadbot webhook`, logs, scheduler leadership (docs/operations.md).
    webhook_url: str | None = Field(default=None, validation_alias=_alias("webhook_url"))
    webhook_path: str = Field(default="/telegram", validation_alias=_alias("webhook_path"))
    webhook_secret: SecretStr | None = Field(
        default=None, validation_alias=_alias("webhook_secret")
    )
    webhook_listen: str = Field(
        default="0.0.0.0", min_length=1, validation_alias=_alias("webhook_listen")
    )
    webhook_port: int = Field(default=8080, ge=1, le=65535, validation_alias=_alias("webhook_port"))
    webhook_drop_pending: bool = Field(
        default=False, validation_alias=_alias("webhook_drop_pending")
    )
    # The web app (docs/web.md): served when web_url is set.
    web_url: str | None = Field(default=None, validation_alias=_alias("web_url"))
    web_port: int = Field(default=8080, ge=1, le=65535, validation_alias=_alias("web_port"))
    web_secret: SecretStr | None = Field(default=None, validation_alias=_alias("web_secret"))
    web_initdata_max_age: int = Field(
        default=86400, ge=60, le=604800, validation_alias=_alias("web_initdata_max_age")
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", validation_alias=_alias("log_level")
    )
    log_json: bool = Field(default=False, validation_alias=_alias("log_json"))
    leader_retry_seconds: float = Field(
        default=10.0, ge=0.1, le=3600, validation_alias=_alias("leader_retry_seconds")
    )
    leader_takeover_seconds: float = Field(
        default=30.0, gt=0, validation_alias=_alias("leader_takeover_seconds")
    )
    # how long an instance holds an update it is handling before another may take it
    # over (renewed while it works): the wait for updates a dead instance held
    inbox_lease_seconds: float = Field(
        default=60.0, ge=0.5, le=3600, validation_alias=_alias("inbox_lease_seconds")
    )

    @field_validator("reminder_offsets", mode="before")
    @classmethod
    def _parse_offsets(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [v for v in value.replace("，", ",").split(",") if v.strip()]
        if isinstance(value, list):
            offsets = sorted({parse_duration(v) for v in value}, reverse=True)
            if not offsets:
                raise ValueError("empty list")
            return offsets
        return value

    @field_validator("leaders_missing_offset", mode="before")
    @classmethod
    def _parse_offset(cls, value: Any) -> Any:
        return parse_duration(value)

    @field_validator("quiet_hours", mode="before")
    @classmethod
    def _parse_quiet(cls, value: Any) -> str:
        window = parse_quiet_hours(value)
        return "off" if window is None else f"{window[0]:%H:%M}-{window[1]:%H:%M}"

    @field_validator("extra_holidays", "extra_workdays", mode="before")
    @classmethod
    def _split_dates(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [v.strip() for v in value.replace("，", ",").split(",") if v.strip()]
        return value

    @field_validator("extra_workdays")
    @classmethod
    def _no_day_both_ways(cls, value: list[date], info: ValidationInfo) -> list[date]:
        both = sorted(set(value) & set(info.data.get("extra_holidays") or ()))
        if both:
            raise ValueError(f"{both[0]} is also listed in extra_holidays")
        return value

    @property
    def quiet_window(self) -> tuple[time, time] | None:
        """(start, end) local times of the quiet hours, None when switched off."""
        return parse_quiet_hours(self.quiet_hours)

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

    @field_validator("dingtalk_admins", mode="before")
    @classmethod
    def _split_staff_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
        return value

    @property
    def dingtalk_enabled(self) -> bool:
        """All three DingTalk credentials are set: ``leadbot run`` serves DingTalk too."""
        return bool(
            self.dingtalk_client_id and self.dingtalk_client_secret and self.dingtalk_robot_code
        )

    @field_validator("admins", mode="before")
    @classmethod
    def _split_admins(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace("，", ",").replace(";", ",").split(",")]
            if parts and not parts[-1]:
                parts.pop()  # a trailing comma is harmless
            if not any(parts) or not all(parts):
                raise ValueError("empty admin id")  # "" or "12,,34": somebody lost an id
            return parts
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("admins")
    @classmethod
    def _positive_admins(cls, value: list[int]) -> list[int]:
        if any(v <= 0 for v in value):
            raise ValueError("Telegram user ids are positive")
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

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("not an http(s) URL")
        return value.rstrip("/") if value else None

    @field_validator("web_url")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        """https, except on this machine: Telegram opens Mini Apps over https only."""
        if not value:
            return None
        from urllib.parse import urlsplit

        parts = urlsplit(value)
        local = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if parts.scheme != "https" and not (parts.scheme == "http" and local):
            raise ValueError("not an https URL (plain http only for 127.0.0.1 or localhost)")
        return value.rstrip("/")

    @field_validator("web_secret")
    @classmethod
    def _web_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("shorter than 16 characters")
        return value

    @field_validator("webhook_path")
    @classmethod
    def _webhook_path(cls, value: str) -> str:
        if not value.startswith("/") or any(c.isspace() or c in "?#" for c in value):
            raise ValueError("not a URL path")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram's rule for secret_token in setWebhook.
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()
        ):
            raise ValueError("not a valid secret token")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("leader_takeover_seconds")
    @classmethod
    def _takeover_after_retries(cls, value: float, info: ValidationInfo) -> float:
        retry = info.data.get("leader_retry_seconds")
        if retry is not None and value < 2 * retry:
            raise ValueError("takeover must be at least twice the retry interval")
        return value

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

    def webhook_secret_value(self) -> str | None:
        return self.webhook_secret.get_secret_value() if self.webhook_secret else None

    def web_secret_value(self) -> str | None:
        """The key the web sessions are signed with: its own setting, else the bot token."""
        if self.web_secret:
            return self.web_secret.get_secret_value()
        return self.token_value()


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


def missing_setting(field: str, hint: str = "") -> ConfigError:
    """The one line for a setting a command needs but nobody set."""
    return ConfigError(
        f"config error: {_env_name(field)} ({field}) is not set: expected {EXPECTED[field]}{hint}"
    )


def _env_name(field: str) -> str:
    return "DATABASE_URL" if field == "database_url" else f"LEADBOT_{field.upper()}"


def _describe(exc: ValidationError) -> str:
    err = exc.errors()[0]
    field = str(err["loc"][0]) if err["loc"] else "?"
    # Values from the environment are reported under their alias (LEADBOT_TZ).
    field = field.lower().removeprefix("leadbot_") if field.isupper() else field
    env = _env_name(field)
    got = err.get("input")
    expected = EXPECTED.get(field, err["msg"])
    shown = "" if field in SECRET_FIELDS else f", got {str(got)[:60]!r}"
    return f"config error: {env} ({field}): expected {expected}{shown}"
