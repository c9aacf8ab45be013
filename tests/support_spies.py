"""Spies for the tests of « Moi aussi » answered before routing (the API's way in and the
form's): what the way in answered, and whether the route ran."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.board import supports

# What differs between two answers to the same request whoever gives them.
PER_ANSWER = {"date", "x-request-id", "content-length"}


def spied(monkeypatch: Any, module: Any, name: str) -> dict[str, list[Any]]:
    """Records the answers of `module.name` (the way in: None when it let the route answer)
    under "way_in", and the route's calls to the supports service under "route"."""
    seen: dict[str, list[Any]] = {"way_in": [], "route": []}
    real = getattr(module, name)

    def way_in(*args: Any, **kwargs: Any) -> Any:
        answer = real(*args, **kwargs)
        seen["way_in"].append(answer)
        return answer

    monkeypatch.setattr(module, name, way_in)
    for service in ("add_support", "remove_support"):
        real_service = getattr(supports, service)

        def route(*args: Any, _name: str = service, _real: Any = real_service, **kw: Any) -> Any:
            seen["route"].append(_name)
            return _real(*args, **kw)

        monkeypatch.setattr(supports, service, route)
    return seen


def headers_of(response: Any) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k not in PER_ANSWER}


def block_for_three_days(session: Any, user: Any) -> None:
    from app.core.db import utcnow

    user.blocked_at = utcnow()
    user.blocked_until = utcnow() + timedelta(days=3)
    user.blocked_reason = "Propos insultants"
    session.add(user)
    session.commit()
