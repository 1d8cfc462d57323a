"""The production packaging stays coherent: compose services, health checks, Dockerfile stages."""

from pathlib import Path

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
    assert "--workers" in services["web"]["command"]


def test_dockerfile_is_multi_stage_and_runs_as_non_root():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.count("FROM ") >= 2
    assert "USER docent" in dockerfile
    assert "collectstatic" in dockerfile


def test_env_example_lists_every_variable_the_settings_read():
    import re

    read = set()
    for path in (ROOT / "config" / "settings").glob("*.py"):
        if path.stem in ("test", "worker_test"):
            continue  # test-only knobs are not deployment configuration
        read |= set(re.findall(r'(?<![.\w])get\(\s*"([A-Z_]+)"', path.read_text()))
        read |= set(re.findall(r'env\.\w+\(\s*"([A-Z_]+)"', path.read_text()))
    read -= {"PYTEST_XDIST_WORKER"}
    example = (ROOT / ".env.example").read_text()
    missing = sorted(name for name in read if not re.search(rf"^{name}=", example, re.M))
    assert not missing, f".env.example lacks {missing}"
