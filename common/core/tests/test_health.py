import pytest
from django.db import connection


def test_healthz_answers_ok_without_touching_the_database(client):
    # No django_db mark: any query would raise "Database access not allowed".
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_database_and_migrations_ok(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["migrations"] == "ok"


@pytest.mark.django_db(transaction=True)
def test_readyz_answers_503_naming_the_database_when_it_is_unreachable(client):
    original = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update({"HOST": "127.0.0.1", "PORT": "1", "OPTIONS": {"connect_timeout": 1}})
    try:
        response = client.get("/readyz")
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(original)
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["database", "migrations"]
    assert body["checks"]["database"].startswith("database unreachable")


@pytest.mark.django_db
def test_readyz_names_redis_when_configured_redis_does_not_answer(client, settings):
    settings.USE_REDIS = True
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["redis"]


@pytest.mark.django_db
def test_readyz_names_unapplied_migrations(client):
    from django.db.migrations.executor import MigrationExecutor
    from django.db.migrations.recorder import MigrationRecorder

    # Forget that the newest sessions migration ran (rolled back with the test's transaction).
    app, name = next(node for node in MigrationExecutor(connection).loader.graph.leaf_nodes() if node[0] == "sessions")
    assert MigrationRecorder.Migration.objects.filter(app=app, name=name).delete()[0] == 1
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["migrations"]
    assert body["checks"]["migrations"] == "1 migration(s) not applied"


@pytest.mark.django_db
def test_vector_extension_is_installed():
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = cursor.fetchone()
    assert row is not None
    major, minor, *_ = (int(part) for part in row[0].split("."))
    assert (major, minor) >= (0, 8)
