from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from server.settings import Settings


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValidationError, match="CREWCALL_SECRET_KEY"):
        Settings(env="production")
    assert Settings(env="production", secret_key="s" * 40).env == "production"


def test_database_url_accepts_heroku_style_postgres_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db/x")
    assert Settings().db_url == "postgresql+psycopg://u@db/x"


def test_the_default_is_a_sqlite_file_in_the_data_dir(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).db_url == f"sqlite:///{tmp_path.resolve() / 'crewcall.db'}"


def test_cli_migrates_and_seeds_demo_talent_once(tmp_path: Path) -> None:
    env = {"CREWCALL_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    run = [sys.executable, "-m", "server.cli"]
    assert subprocess.run([*run, "migrate"], env=env, capture_output=True, check=True).returncode == 0
    first = subprocess.run([*run, "seed-demo"], env=env, capture_output=True, text=True, check=True)
    second = subprocess.run([*run, "seed-demo"], env=env, capture_output=True, text=True, check=True)
    assert first.stdout.strip() == "seeded 8 demo talent"
    assert second.stdout.strip() == "seeded 0 demo talent"


def test_serve_refuses_an_unmigrated_postgres_database_with_a_clear_message(pg_database: str, tmp_path: Path) -> None:
    # pg_database: skip (or fail in CI) without PostgreSQL; the test needs an empty database of its own
    import psycopg

    from tests.conftest import PG_ADMIN_URL

    name = f"cc_unmigrated_{os.getpid()}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    env = {
        "CREWCALL_DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}",
        "PATH": "/usr/bin:/bin",
    }
    try:
        result = subprocess.run(
            [sys.executable, "-m", "server.cli", "serve", "--port", "0"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode != 0
        assert "run `crewcall migrate` first" in result.stderr
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
