"""`bourse create-user` and `bourse create-token` (SPEC §5), run in-process against the test
database."""

from __future__ import annotations

import io
import re
import sys

import pytest
from sqlmodel import select

from app.accounts import service
from app.accounts.models import ApiToken, Role
from app.accounts.passwords import verify_password
from app.accounts.tokens import hash_secret
from app.ops import cli
from tests.accounts.helpers import count, fresh, is_signed_in, login, user_by_email, user_count
from tests.factories import make_user


@pytest.fixture
def cli_env(monkeypatch, settings, tmp_path):
    """Points the CLI's own Settings() at the test database."""
    monkeypatch.chdir(tmp_path)  # no stray .env file is read
    monkeypatch.setenv("BOURSE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BOURSE_ENV", "test")
    monkeypatch.setenv("BOURSE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("BOURSE_SECRET_KEY", "test-secret-key")


def run(*argv: str) -> int:
    return cli.main(list(argv))


# --- create-token ----------------------------------------------------------------------------


def test_create_token_prints_only_the_token_on_stdout(cli_env, session, capsys):
    user = make_user(session, email="robot@exemple.fr")

    code = run("create-token", "robot@exemple.fr", "--label", "Synchronisation")

    out = capsys.readouterr().out
    assert code == 0
    assert re.fullmatch(r"bourse_[A-Za-z0-9_-]{40,}\n", out)
    raw = out.strip()
    [token] = fresh(session).exec(select(ApiToken).where(ApiToken.user_id == user.id)).all()
    assert token.label == "Synchronisation"
    assert token.token_hash == hash_secret(raw)
    assert service.user_for_api_token(fresh(session), raw).id == user.id


def test_create_token_finds_the_account_whatever_the_case_of_the_address(cli_env, session, capsys):
    make_user(session, email="robot@exemple.fr")

    code = run("create-token", "Robot@Exemple.FR")

    assert code == 0
    assert capsys.readouterr().out.startswith("bourse_")


def test_create_token_for_an_unknown_address_fails_and_prints_nothing_on_stdout(
    cli_env, session, capsys
):
    code = run("create-token", "inconnu@exemple.fr", "--label", "L")

    captured = capsys.readouterr()
    assert code != 0
    assert captured.out == ""
    assert "inconnu@exemple.fr" in captured.err
    assert count(session, ApiToken) == 0


# --- create-user -----------------------------------------------------------------------------


def test_create_user_with_a_role_a_name_and_a_password_from_stdin(
    cli_env, session, capsys, monkeypatch, client
):
    monkeypatch.setattr(sys, "stdin", io.StringIO("un-secret-bien-long\n"))

    code = run(
        "create-user", "Claire@Exemple.fr", "--role", "staff", "--name", "Claire",
        "--password-stdin",
    )  # fmt: skip

    assert code == 0
    assert "claire@exemple.fr" in capsys.readouterr().out
    user = user_by_email(session, "claire@exemple.fr")
    assert user is not None
    assert user.role == Role.staff
    assert user.display_name == "Claire"
    assert user.email_verified_at is not None
    assert user.password_hash.startswith("$argon2id$")
    assert verify_password(user.password_hash, "un-secret-bien-long")
    # The newline that ended the input is not part of the password: the person can log in.
    assert login(client, "claire@exemple.fr", "un-secret-bien-long").status_code == 303
    assert is_signed_in(client)


@pytest.mark.parametrize("role", ["resident", "moderator", "staff", "admin"])
def test_create_user_accepts_every_role(cli_env, session, role):
    assert run("create-user", f"{role}@exemple.fr", "--role", role) == 0

    assert user_by_email(session, f"{role}@exemple.fr").role == role


def test_create_user_without_password_makes_a_link_only_account(cli_env, session):
    assert run("create-user", "lien@exemple.fr", "--role", "resident") == 0

    user = user_by_email(session, "lien@exemple.fr")
    assert user.password_hash is None
    assert user.display_name == "lien"


@pytest.mark.parametrize("role", ["superuser", "Admin", ""])
def test_create_user_with_an_unknown_role_fails_and_creates_nothing(cli_env, session, capsys, role):
    code = run("create-user", "claire@exemple.fr", "--role", role)

    assert code != 0
    assert "rôle inconnu" in capsys.readouterr().err
    assert user_count(session) == 0


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["pas-une-adresse"], "", "n'est pas valable"),
        (["claire@exemple.fr", "--password-stdin"], "court\n", "au moins 10 caractères"),
        (["claire@exemple.fr", "--name", "C"], "", "au moins 2 caractères"),
    ],
)
def test_create_user_with_bad_input_fails_in_french_and_creates_nothing(
    cli_env, session, capsys, monkeypatch, argv, stdin, message
):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))

    code = run("create-user", *argv, "--role", "resident")

    captured = capsys.readouterr()
    assert code != 0
    assert message in captured.err
    assert captured.out == ""
    assert user_count(session) == 0


def test_create_user_for_an_existing_address_fails_and_changes_nothing(cli_env, session, capsys):
    existing = make_user(session, email="claire@exemple.fr", role="resident")

    code = run("create-user", "claire@exemple.fr", "--role", "admin")

    assert code != 0
    assert "existe déjà" in capsys.readouterr().err
    assert user_count(session) == 1
    assert user_by_email(session, "claire@exemple.fr").role == existing.role == "resident"
