import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from config.settings import Settings, SettingsError, get_settings, reload_settings


@pytest.fixture
def restore_settings():
    yield
    reload_settings()


def test_defaults_point_at_the_local_services(monkeypatch):
    for name in ("COORD_REDIS_URL", "COORD_BROKER_URL", "COORD_RESULT_BACKEND_URL", "COORD_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert settings.broker_url.get_secret_value() == "redis://127.0.0.1:6379/0"
    assert settings.result_backend_url.get_secret_value() == "redis://127.0.0.1:6379/1"
    assert settings.redis_url.get_secret_value() == "redis://127.0.0.1:6379/2"
    assert settings.database_url.get_secret_value() == "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    assert settings.max_signal_bytes == 64 * 1024


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("COORD_REDIS_URL", "http://not-redis"),
        ("COORD_MAX_SIGNAL_BYTES", "0"),
        ("COORD_NAMESPACE", "has:colon"),
        ("COORD_TASK_TIME_LIMIT", "10"),
    ],
)
def test_an_invalid_variable_fails_at_start_up_naming_it(restore_settings, monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    if variable == "COORD_TASK_TIME_LIMIT":
        monkeypatch.setenv("COORD_TASK_SOFT_TIME_LIMIT", "30")
    with pytest.raises(SettingsError) as error:
        reload_settings()
    assert variable in str(error.value)


def test_settings_are_read_once_and_cached():
    assert get_settings() is get_settings()


SECRET = "s3cr3t-pw"
SECRET_ENVIRONMENT = {
    "COORD_BROKER_URL": f"sentinel://:{SECRET}@s1:26379/0;sentinel://s2:26379",
    "COORD_RESULT_BACKEND_URL": f"rediss://app:{SECRET}@cache:6380/1",
    "COORD_REDIS_URL": f"redis://:{SECRET}@cache:6379/2",
    "COORD_REDIS_SENTINEL_MASTER": "coord-master",
    "COORD_REDIS_SENTINEL_PASSWORD": SECRET,
    "COORD_DATABASE_URL": f"postgresql+psycopg://coord:{SECRET}@db:5432/coord",
    "COORD_FLOWER_BASIC_AUTH": f"operator:{SECRET}",
}


def test_no_password_shows_in_the_settings_repr_str_or_dump(monkeypatch):
    for name, value in SECRET_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)

    for shown in (repr(settings), str(settings), str(settings.model_dump()), settings.model_dump_json()):
        assert SECRET not in shown
    assert "redis://:***@cache:6379/2" in repr(settings)  # the operator still sees where it points
    # Code that connects gets the real values.
    assert settings.redis_url.get_secret_value() == SECRET_ENVIRONMENT["COORD_REDIS_URL"]
    assert settings.broker_url.get_secret_value() == SECRET_ENVIRONMENT["COORD_BROKER_URL"]
    assert settings.database_url.get_secret_value() == SECRET_ENVIRONMENT["COORD_DATABASE_URL"]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("COORD_REDIS_URL", f"http://:{SECRET}@cache:6379/2"),
        ("COORD_REDIS_URL", f"redis://:{SECRET}@cache:port/2"),
        ("COORD_BROKER_URL", f"unix:///run/redis.sock?password={SECRET}"),
        ("COORD_RESULT_BACKEND_URL", f"redis://:{SECRET}@cache:6379/one"),
        ("COORD_DATABASE_URL", f"mysql://coord:{SECRET}@db/coord"),
        ("COORD_DATABASE_URL", SECRET),
        ("COORD_FLOWER_BASIC_AUTH", f":{SECRET}"),
    ],
)
def test_an_invalid_secret_is_named_but_never_quoted(restore_settings, monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as error:
        reload_settings()
    message = str(error.value)
    assert variable in message
    assert SECRET not in message
    assert "\n" not in message
    assert error.value.__suppress_context__  # a traceback shows this one line, not pydantic's original error


def test_a_validation_error_of_the_model_itself_hides_the_input():
    with pytest.raises(ValidationError) as error:
        Settings(_env_file=None, redis_url=f"http://:{SECRET}@cache")
    assert SECRET not in str(error.value)
    assert "redis_url" in str(error.value)


@pytest.mark.parametrize("value", [":", "operator:", ":pw", "operator", "a:b,c:", "a:b,,c:d", " : "])
def test_flower_refuses_an_empty_user_or_password(restore_settings, monkeypatch, value):
    monkeypatch.setenv("COORD_FLOWER_BASIC_AUTH", value)
    with pytest.raises(SettingsError, match=r"COORD_FLOWER_BASIC_AUTH: entry \d must be user:password"):
        reload_settings()


def test_an_empty_flower_variable_means_not_configured(monkeypatch):
    monkeypatch.setenv("COORD_FLOWER_BASIC_AUTH", "")  # what docker/compose.yml passes when it is unset
    assert Settings(_env_file=None).flower_basic_auth is None


def test_flower_accepts_several_complete_credentials(monkeypatch):
    monkeypatch.setenv("COORD_FLOWER_BASIC_AUTH", "a:b,ops:p:with:colons")
    settings = Settings(_env_file=None)
    assert settings.flower_basic_auth is not None
    assert settings.flower_basic_auth.get_secret_value() == "a:b,ops:p:with:colons"


@pytest.mark.parametrize("variable", ["COORD_BROKER_URL", "COORD_RESULT_BACKEND_URL", "COORD_REDIS_URL"])
def test_a_sentinel_url_needs_the_master_name(restore_settings, monkeypatch, variable):
    monkeypatch.delenv("COORD_REDIS_SENTINEL_MASTER", raising=False)
    monkeypatch.setenv(variable, "sentinel://s1:26379;sentinel://s2:26379")
    with pytest.raises(SettingsError, match="COORD_REDIS_SENTINEL_MASTER: is required"):
        reload_settings()
    monkeypatch.setenv("COORD_REDIS_SENTINEL_MASTER", "coord-master")
    assert reload_settings().redis_sentinel_master == "coord-master"


def test_the_archive_waits_a_bounded_time_by_default(monkeypatch):
    for name in ("COORD_DATABASE_CONNECT_TIMEOUT_SECONDS", "COORD_DATABASE_STATEMENT_TIMEOUT_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert settings.database_connect_timeout_seconds == 5
    assert settings.database_statement_timeout_seconds == 30


@pytest.mark.parametrize(
    ("variable", "value"),
    [("COORD_DATABASE_CONNECT_TIMEOUT_SECONDS", "0"), ("COORD_DATABASE_STATEMENT_TIMEOUT_SECONDS", "-1")],
)
def test_a_timeout_must_be_positive(restore_settings, monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        reload_settings()


DOCS = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_every_setting_is_documented_in_docs_settings_md():
    documented = set(re.findall(r"^\| `(COORD_[A-Z0-9_]+)` \|", DOCS.read_text(), flags=re.M))
    assert documented == {f"COORD_{name.upper()}" for name in Settings.model_fields}
