"""The production packaging stays coherent: compose services, health checks, Dockerfile stages."""

import json
import re
import runpy
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent.parent


def test_compose_defines_the_production_services_each_with_a_healthcheck():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"db", "redis", "web", "worker", "beat"} <= set(services)
    for name in ("db", "redis", "web", "worker", "beat"):
        assert "healthcheck" in services[name], f"{name} has no healthcheck"
    assert "pgvector" in services["db"]["image"]
    assert "config.asgi:application" in " ".join(services["web"]["command"])
    assert "--workers" in " ".join(services["web"]["command"])


def test_dockerfile_is_multi_stage_and_runs_as_non_root():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.count("FROM ") >= 2
    assert "USER docent" in dockerfile
    assert "collectstatic" in dockerfile


def test_env_example_lists_every_variable_the_settings_read():
    import re

    read = set()
    for path in (ROOT / "config" / "settings").glob("*.py"):
        if path.stem in ("test", "worker_test", "cluster_test"):
            continue  # test-only knobs are not deployment configuration
        read |= set(re.findall(r'(?<![.\w])(?:get|ip_networks)\(\s*"([A-Z_]+)"', path.read_text()))
        read |= set(re.findall(r'env\.\w+\(\s*"([A-Z_]+)"', path.read_text()))
    read -= {"PYTEST_XDIST_WORKER"}
    example = (ROOT / ".env.example").read_text()
    missing = sorted(name for name in read if not re.search(rf"^{name}=", example, re.M))
    assert not missing, f".env.example lacks {missing}"


def _web_commands() -> dict[str, list[str]]:
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", dockerfile, re.M).group(1))
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    web = [part.replace("$$", "$") for part in compose["services"]["web"]["command"]]  # compose's own escaping
    return {"Dockerfile": cmd, "docker-compose.yml": web}


def _uvicorn_argv(command: list[str], tmp_path: Path, **env: str) -> list[str]:
    """The arguments the command would start uvicorn with (a stand-in uvicorn prints them)."""
    fake = tmp_path / "uvicorn"
    fake.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    fake.chmod(0o755)
    environment = {"PATH": f"{tmp_path}:/usr/bin:/bin", **env}
    result = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=30, check=True)
    return result.stdout.splitlines()


@pytest.mark.parametrize("source", ["Dockerfile", "docker-compose.yml"])
def test_the_web_server_trusts_no_proxy_headers_unless_proxies_are_configured(source, tmp_path):
    argv = _uvicorn_argv(_web_commands()[source], tmp_path)
    assert "--no-proxy-headers" in argv and "--proxy-headers" not in argv
    assert "config.asgi:application" in argv and "--workers" in argv
    # a stop (deploy) gives open streams a few seconds, then cuts them, which saves them as interrupted
    assert argv[argv.index("--timeout-graceful-shutdown") + 1] == "8"


@pytest.mark.parametrize("source", ["Dockerfile", "docker-compose.yml"])
def test_the_web_server_trusts_forwarded_headers_from_the_configured_proxies_only(source, tmp_path):
    argv = _uvicorn_argv(_web_commands()[source], tmp_path, TRUSTED_PROXY_IPS="10.0.0.5,10.1.0.0/16")
    assert "--proxy-headers" in argv and "--no-proxy-headers" not in argv
    assert argv[argv.index("--forwarded-allow-ips") + 1] == "10.0.0.5,10.1.0.0/16"


@pytest.mark.parametrize("source", ["Dockerfile", "docker-compose.yml"])
def test_the_web_server_sends_websocket_frames_uncompressed(source, tmp_path):
    argv = _uvicorn_argv(_web_commands()[source], tmp_path)
    assert argv[argv.index("--ws-per-message-deflate") + 1] == "false"  # ADR 0130


def test_compose_passes_the_trusted_proxies_to_the_app():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert "TRUSTED_PROXY_IPS" in compose["services"]["web"]["environment"]


def test_make_run_starts_uvicorn_with_the_same_proxy_setting(monkeypatch):
    run = runpy.run_path(str(ROOT / "scripts" / "run.py"), run_name="imported")
    monkeypatch.delenv("TRUSTED_PROXY_IPS", raising=False)
    argv = run["uvicorn_command"]()
    assert "--no-proxy-headers" in argv and "--forwarded-allow-ips" not in argv
    monkeypatch.setenv("TRUSTED_PROXY_IPS", "10.0.0.5, 10.1.0.0/16")
    argv = run["uvicorn_command"]()
    assert argv[argv.index("--forwarded-allow-ips") + 1] == "10.0.0.5,10.1.0.0/16"
    assert "--proxy-headers" in argv
    web = next(child for child in run["children"]() if child.name == "web")
    assert web.command[web.command.index("--forwarded-allow-ips") + 1] == "10.0.0.5,10.1.0.0/16"
    assert web.command[web.command.index("--ws-per-message-deflate") + 1] == "false"
