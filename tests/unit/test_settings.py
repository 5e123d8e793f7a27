import pytest

from config.settings import Settings, SettingsError, get_settings, reload_settings


@pytest.fixture
def restore_settings():
    yield
    reload_settings()


def test_defaults_point_at_the_local_services(monkeypatch):
    for name in ("COORD_REDIS_URL", "COORD_BROKER_URL", "COORD_RESULT_BACKEND_URL", "COORD_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert str(settings.broker_url) == "redis://127.0.0.1:6379/0"
    assert str(settings.result_backend_url) == "redis://127.0.0.1:6379/1"
    assert str(settings.redis_url) == "redis://127.0.0.1:6379/2"
    assert settings.database_url == "postgresql+psycopg://postgres@127.0.0.1:5432/test"
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
