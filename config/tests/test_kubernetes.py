"""deploy/kubernetes/docent.yaml is the `make cluster` deployment (scripts/cluster.py) in Kubernetes' terms: the same
settings, commands, health checks and timeouts. What differs on purpose is named below with its reason, so a setting
added to `make cluster` fails here until the manifest has it too."""

import re
import runpy
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.tests.test_packaging import _uvicorn_argv

ROOT = Path(__file__).resolve().parent.parent.parent
MANIFEST = ROOT / "deploy" / "kubernetes" / "docent.yaml"

# Set by `make cluster` for loopback; set per site in the manifest (present, value of the site's choosing)
PER_SITE = {
    "ALLOWED_HOSTS": "the site's host name",
    "CSRF_TRUSTED_ORIGINS": "the site's origin",
    "SITE_URL": "the site's URL",
    "TRUSTED_PROXY_IPS": "the ingress controller's addresses, not the loopback balancer's",
    "LOG_JSON": "JSON lines for the log collector; plain text on a terminal",
}
# Set by `make cluster` only because it runs on one machine without TLS; the manifest keeps production's defaults
LOOPBACK_ONLY = {
    "MEDIA_ROOT": "pods share no disk: STORAGE_BUCKET instead",
    "SECURE_SSL_REDIRECT": "TLS ends at the ingress: the production default (redirect) holds",
    "SECURE_HSTS_SECONDS": "TLS ends at the ingress: the production default holds",
    "DEMO_ADMIN_PASSWORD": "the demo organization is seeded by `make cluster` only",
}
# In the docent-secrets Secret, never in the ConfigMap
SECRETS = {"SECRET_KEY", "JWT_SIGNING_KEY", "TOKEN_HASH_PEPPER", "FIELD_ENCRYPTION_KEYS", "DATABASE_URL", "REDIS_URL"}
MANIFEST_ONLY = {"STORAGE_BUCKET": "the uploads' shared storage (MEDIA_ROOT's place)"}


@pytest.fixture(scope="module")
def objects() -> dict[tuple[str, str], dict[str, Any]]:
    documents = [doc for doc in yaml.safe_load_all(MANIFEST.read_text()) if doc]
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in documents}


@pytest.fixture
def cluster(monkeypatch, tmp_path) -> dict[str, Any]:
    """scripts/cluster.py's functions, and its default arguments with its directory under tmp_path."""
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    for name in ("REPLICAS", "WORKERS", "CLUSTER_PORT", "CLUSTER_SETTINGS"):
        monkeypatch.delenv(name, raising=False)
    module = runpy.run_path(str(ROOT / "scripts" / "cluster.py"), run_name="imported")
    return {**module, "args": module["parse_args"](["--dir", str(tmp_path)])}


def _container(objects, name: str) -> dict[str, Any]:
    return objects[("Deployment", f"docent-{name}")]["spec"]["template"]["spec"]["containers"][0]


def _haproxy(cluster: dict[str, Any]) -> str:
    return str(cluster["haproxy_config"](cluster["args"]))


def test_the_manifest_is_well_formed(objects):
    kinds = {kind for kind, _ in objects}
    assert kinds == {"ConfigMap", "Job", "Deployment", "Service", "Ingress"}
    for (kind, name), doc in objects.items():
        assert doc["apiVersion"] in {"v1", "apps/v1", "batch/v1", "networking.k8s.io/v1"}, name
        if kind == "Deployment":
            labels = doc["spec"]["template"]["metadata"]["labels"]
            assert doc["spec"]["selector"]["matchLabels"].items() <= labels.items(), f"{name} selects its pods"
        if kind in {"Deployment", "Job"}:
            for container in doc["spec"]["template"]["spec"]["containers"]:
                refs = [next(iter(ref.values()))["name"] for ref in container["envFrom"]]
                assert refs == ["docent-settings", "docent-secrets"], f"{name} gets every setting and secret"
    service = objects[("Service", "docent-web")]["spec"]
    assert service["selector"] == objects[("Deployment", "docent-web")]["spec"]["selector"]["matchLabels"]
    ports = {p["name"]: p["containerPort"] for p in _container(objects, "web")["ports"]}
    assert service["ports"][0]["targetPort"] in ports
    backend = objects[("Ingress", "docent")]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "docent-web" and backend["port"]["name"] == service["ports"][0]["name"]


def test_the_settings_are_make_cluster_s_save_those_named_with_their_reason(objects, cluster):
    ours = cluster["cluster_env"](cluster["args"], "redis://127.0.0.1:6379/15", "postgres://x@localhost/docent")
    theirs = objects[("ConfigMap", "docent-settings")]["data"]
    assert all(isinstance(value, str) for value in theirs.values()), "ConfigMap values are strings"
    assert not SECRETS & theirs.keys(), "secrets go in docent-secrets"
    for name, value in ours.items():
        if name in SECRETS or name in LOOPBACK_ONLY:
            assert name not in theirs, f"{name}: {LOOPBACK_ONLY.get(name, 'a secret')}"
        elif name in PER_SITE:
            assert theirs.get(name), f"{name}: {PER_SITE[name]}"
        else:
            assert theirs.get(name) == value, f"{name} is {value!r} in `make cluster`"
    unexplained = theirs.keys() - ours.keys() - MANIFEST_ONLY.keys()
    assert not unexplained, f"settings `make cluster` does not have: {sorted(unexplained)}"


def test_the_web_pods_run_the_replicas_uvicorn_command(objects, cluster, monkeypatch, tmp_path):
    proxies = "10.0.0.5,10.1.0.0/16"
    monkeypatch.setenv("TRUSTED_PROXY_IPS", proxies)
    container = _container(objects, "web")
    port = str(next(p["containerPort"] for p in container["ports"] if p["name"] == "http"))
    expected = cluster["uvicorn_command"]("0.0.0.0", port, *cluster["REPLICA_ARGS"])[1:]  # noqa: S104 (in a pod)
    argv = _uvicorn_argv(container["command"], tmp_path, TRUSTED_PROXY_IPS=proxies)
    assert argv == expected
    assert "--no-proxy-headers" in _uvicorn_argv(container["command"], tmp_path)
    assert objects[("Deployment", "docent-web")]["spec"]["replicas"] == cluster["args"].replicas


def test_pods_leave_rotation_and_come_back_as_the_balancer_checks_them(objects, cluster):
    check = re.search(r"http-check send meth GET uri (\S+)", _haproxy(cluster))
    timing = re.search(r"default-server inter (\d+)s fall (\d+) rise (\d+)", _haproxy(cluster))
    assert check and timing
    container = _container(objects, "web")
    readiness = container["readinessProbe"]
    assert readiness["httpGet"]["path"] == check.group(1)
    assert [readiness["periodSeconds"], readiness["failureThreshold"], readiness["successThreshold"]] == [
        int(value) for value in timing.groups()
    ]
    assert container["startupProbe"]["httpGet"]["path"] == "/readyz"  # what `make cluster` waits for
    assert container["livenessProbe"]["httpGet"]["path"] == check.group(1)


def test_open_streams_get_their_graceful_shutdown_before_the_pod_is_killed(objects, cluster):
    replica = list(cluster["REPLICA_ARGS"])
    graceful = int(replica[replica.index("--timeout-graceful-shutdown") + 1])
    web = objects[("Deployment", "docent-web")]["spec"]
    assert web["template"]["spec"]["terminationGracePeriodSeconds"] > graceful
    assert web["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_the_ingress_holds_sockets_as_long_as_the_balancer_and_does_not_buffer_streams(objects, cluster):
    tunnel = re.search(r"timeout tunnel (\d+)h", _haproxy(cluster))
    assert tunnel
    annotations = objects[("Ingress", "docent")]["metadata"]["annotations"]
    prefix = "nginx.ingress.kubernetes.io/"
    assert int(annotations[f"{prefix}proxy-read-timeout"]) == int(tunnel.group(1)) * 3600
    assert int(annotations[f"{prefix}proxy-send-timeout"]) == int(tunnel.group(1)) * 3600
    assert annotations[f"{prefix}proxy-buffering"] == "off"


def test_workers_and_the_one_beat_run_make_cluster_s_commands(objects, cluster):
    celery = [Path(cluster["CELERY"][0]).name, *cluster["CELERY"][1:]]
    worker = objects[("Deployment", "docent-worker")]["spec"]
    assert _container(objects, "worker")["command"] == [*celery, "--quiet", *cluster["worker_args"](1)]
    assert worker["replicas"] == cluster["args"].workers
    beat = objects[("Deployment", "docent-beat")]["spec"]
    assert beat["replicas"] == 1 and beat["strategy"]["type"] == "Recreate", "never two schedulers"
    assert _container(objects, "beat")["command"][:4] == [*celery, "beat"]
    migrate = objects[("Job", "docent-migrate")]["spec"]["template"]["spec"]["containers"][0]
    assert migrate["command"] == ["python", "manage.py", "migrate", "--no-input"]
