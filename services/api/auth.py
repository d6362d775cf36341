"""Bearer-token principals: a department publishes its own events; roles (ops, auditor, admin) read."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.api.problems import Problem
from services.settings import parse_tokens

ROLES = frozenset({"ops", "auditor", "admin"})


@dataclass(frozen=True, slots=True)
class Principal:
    """Who called: `name` is a department slug, or a role name for role tokens."""

    name: str

    @property
    def is_role(self) -> bool:
        return self.name in ROLES

    @property
    def department(self) -> str | None:
        return None if self.is_role else self.name


class TokenRegistry:
    """Tokens provisioned from configuration, kept only as SHA-256 digests."""

    def __init__(self, tokens: dict[str, str]) -> None:
        self._by_digest = {_digest(token): Principal(name) for name, token in tokens.items()}

    @classmethod
    def from_setting(cls, raw: str) -> TokenRegistry:
        return cls(parse_tokens(raw))

    def principal(self, token: str) -> Principal | None:
        return self._by_digest.get(_digest(token))

    def __len__(self) -> int:
        return len(self._by_digest)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


_bearer = HTTPBearer(auto_error=False, description="A department or role token (TOUCHLINE_BOOTSTRAP_TOKENS).")


def authenticate(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    registry: TokenRegistry = request.app.state.tokens
    principal = registry.principal(credentials.credentials) if credentials else None
    if principal is None:
        raise Problem(401, "Unauthorized", "A valid bearer token is required.", headers={"WWW-Authenticate": "Bearer"})
    return principal


PrincipalDep = Annotated[Principal, Depends(authenticate)]


def require_auditor(principal: PrincipalDep) -> Principal:
    """Auditor and admin tokens only: departments and ops get 403."""
    if principal.name not in {"auditor", "admin"}:
        raise Problem(403, "Forbidden", "Only auditor or admin tokens may read the audit trail.")
    return principal


AuditorDep = Annotated[Principal, Depends(require_auditor)]


def require_admin(principal: PrincipalDep) -> Principal:
    """Admin tokens only: everyone else (auditors included) gets 403."""
    if principal.name != "admin":
        raise Problem(403, "Forbidden", "Only admin tokens may do this.")
    return principal


AdminDep = Annotated[Principal, Depends(require_admin)]
