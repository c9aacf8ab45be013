"""Accounts for bench/load.py, made with the app's own services (app.accounts.service).

Run by bench/load.py in a child process with the `BOURSE_*` environment of the benchmarked
database (the same one `bourse create-user` and `bourse create-token` would use); one process
instead of one `bourse` command per account. Reads a JSON request on stdin:

    {"accounts": [{"email": "...", "role": "resident", "password": "..." | null,
                   "token": true | false}, ...]}

creates each account that does not exist yet (verified, with that role), sets the password
again on those that do (so a reused database accepts it), makes a new personal API token when
`token` is true, and prints {"tokens": {email: raw token}} on stdout.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def main() -> int:
    from app.accounts import passwords, service
    from app.accounts.models import Role
    from app.core.db import engine_for, session_scope
    from app.core.settings import Settings

    request: dict[str, Any] = json.load(sys.stdin)
    tokens: dict[str, str] = {}
    engine = engine_for(Settings())
    with session_scope(engine) as session:
        for account in request["accounts"]:
            email, password = account["email"], account.get("password")
            user = service.user_by_email(session, email)
            if user is None:
                user = service.create_user(
                    session,
                    email,
                    display_name=account.get("name") or email.split("@")[0],
                    password=password,
                    role=Role(account["role"]),
                    verified=True,
                )
            elif password:
                user.password_hash = passwords.hash_password(password)
                session.add(user)
                session.commit()
            if account.get("token"):
                tokens[email] = service.create_api_token(session, user, "bench/load.py")
    engine.dispose()
    json.dump({"tokens": tokens}, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
