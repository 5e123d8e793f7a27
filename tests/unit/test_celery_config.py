import pytest

from config.celery_app import app
from coordination import task_names as names


def test_only_json_is_accepted_and_produced():
    assert app.conf.accept_content == ["json"]
    assert app.conf.result_accept_content == ["json"]
    assert app.conf.task_serializer == "json"
    assert app.conf.result_serializer == "json"


def test_delivery_is_at_least_once_with_one_message_per_process():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_redis_visibility_timeout_is_above_the_hard_time_limit():
    assert app.conf.task_soft_time_limit < app.conf.task_time_limit
    assert app.conf.broker_transport_options["visibility_timeout"] > app.conf.task_time_limit


def test_clocks_are_utc_and_flower_gets_task_events():
    assert app.conf.enable_utc is True and app.conf.timezone == "UTC"
    assert app.conf.worker_send_task_events is True
    assert app.conf.task_send_sent_event is True


def test_every_named_task_is_registered():
    app.loader.import_default_modules()
    assert set(app.tasks) >= names.ALL


def test_periodic_tasks_keep_no_results_in_the_backend():
    import beat.tasks  # noqa: F401  (registers them)

    for name in (names.POLL_DEPENDENCIES, names.ARCHIVE_HISTORY, names.EXPIRE_FINISHED):
        assert app.tasks[name].ignore_result, name


def test_sentinel_urls_make_celery_find_the_master_through_the_sentinels(monkeypatch):
    from config.celery_app import connection_config
    from config.settings import Settings

    monkeypatch.setenv("COORD_BROKER_URL", "sentinel://:master-pw@s1:26379/0;sentinel://s2:26379")
    monkeypatch.setenv("COORD_RESULT_BACKEND_URL", "redis://cache:6379/1")
    monkeypatch.setenv("COORD_REDIS_SENTINEL_MASTER", "coord-master")
    monkeypatch.setenv("COORD_REDIS_SENTINEL_PASSWORD", "sentinel-pw")
    config = connection_config(Settings(_env_file=None))

    broker_options = config["broker_transport_options"]
    assert config["broker_url"] == "sentinel://:master-pw@s1:26379/0;sentinel://s2:26379"
    assert broker_options["master_name"] == "coord-master"
    assert broker_options["sentinel_kwargs"]["password"] == "sentinel-pw"
    assert broker_options["visibility_timeout"] > app.conf.task_time_limit
    # A plain Redis result backend gets no Sentinel options.
    assert "master_name" not in config["result_backend_transport_options"]


def test_task_options_are_set_once_per_kind_of_task():
    from coordination import agent
    from coordination.pipeline.messages import MalformedMessage

    app.loader.import_default_modules()

    @agent("config-probe")
    def probe(run):  # pragma: no cover - never run
        return {}

    assert probe.ignore_result and probe.throws == (MalformedMessage,)
    assert probe.acks_late and probe.reject_on_worker_lost  # the app's defaults
    for name in (names.POLL_DEPENDENCIES, names.ARCHIVE_HISTORY, names.EXPIRE_FINISHED):
        assert not app.tasks[name].acks_late and app.tasks[name].ignore_result, name
    assert not app.tasks[names.PING].acks_late
    assert app.tasks[names.EMIT_SIGNAL].acks_late and not app.tasks[names.EMIT_SIGNAL].ignore_result


def test_an_agent_defined_again_replaces_the_first_definition_and_another_function_is_refused():
    import warnings

    from coordination import agent
    from coordination.errors import InvalidInputError

    app.loader.import_default_modules()

    def define(label: str):  # the same definition run twice, as a reloaded module or a notebook cell does
        @agent("redefined-probe")
        def probe(run):  # pragma: no cover - never run
            return {"label": label}

        return probe

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Celery warns when a name is registered twice and keeps the first
        first = define("first")
        second = define("second")
    assert app.tasks["agent.redefined-probe"] is second is not first
    assert second.agent_function(None) == {"label": "second"}
    assert agent("redefined-probe")(second.agent_function) is second  # the same function again: unchanged

    def probe(run):  # pragma: no cover - never run
        return {}

    with pytest.raises(InvalidInputError, match="already registered") as refused:
        agent("redefined-probe")(probe)
    assert refused.value.field == "name"
    # Another module's function of the same name is another agent, not a definition run again.
    module: dict[str, object] = {"__name__": "team_b.agents"}
    exec("def probe(run):\n    return {}\n", module)  # a function defined in another module
    namesake = module["probe"]
    namesake.__qualname__ = second.agent_function.__qualname__  # type: ignore[attr-defined]
    with pytest.raises(InvalidInputError, match="already registered"):
        agent("redefined-probe")(namesake)
    assert app.tasks["agent.redefined-probe"] is second
