"""Bearer-token principals (department staff and managers, ops, auditor, admin), checked against the matrix."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.adapters.settings import parse_tokens
from services.entrypoints.api.permissions import Kind, route_key, rule_for
from services.entrypoints.api.problems import Problem

ROLES = frozenset({"ops", "auditor", "admin"})
MANAGER_SUFFIX = "-manager"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who called: `name` is the token's name in TOUCHLINE_BOOTSTRAP_TOKENS.

    `ops`, `auditor` and `admin` are roles; `<department>-manager` is that department's manager (the role its SLA
    breaches escalate to by default); any other name is a department's staff."""

    name: str

    @property
    def kind(self) -> Kind:
        if self.name in ROLES:
            return Kind(self.name)
        return Kind.MANAGER if self.name.endswith(MANAGER_SUFFIX) else Kind.DEPARTMENT

    @property
    def is_role(self) -> bool:
        return self.name in ROLES

    @property
    def department(self) -> str | None:
        """The department a staff or manager token acts for (its reads are scoped to it); None for roles."""
        if self.is_role:
            return None
        return self.name.removesuffix(MANAGER_SUFFIX) if self.kind is Kind.MANAGER else self.name


def manager_of(department: str) -> str:
    """The token name of a department's manager."""
    return f"{department}{MANAGER_SUFFIX}"


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


_bearer = HTTPBearer(auto_error=False, description="A department, manager or role token (TOUCHLINE_BOOTSTRAP_TOKENS).")


def authenticate(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """The caller, if its token is valid (401) and the permission matrix lets its kind call this route (403)."""
    registry: TokenRegistry = request.app.state.tokens
    principal = registry.principal(credentials.credentials) if credentials else None
    if principal is None:
        raise Problem(401, "Unauthorized", "A valid bearer token is required.", headers={"WWW-Authenticate": "Bearer"})
    route = request.scope.get("route")
    rule = rule_for(route)
    if rule is None or not rule.allows(principal.kind):  # unlisted routes fail closed
        operation = route_key(route) if route is not None else "this"
        raise Problem(403, "Forbidden", f"A {principal.kind.value} token may not call {operation} "
                      "(docs/security.md).")
    return principal


PrincipalDep = Annotated[Principal, Depends(authenticate)]
"""The authenticated caller, already allowed by the permission matrix for the route it calls."""

# The matrix decides who reaches audit and erasure routes; these names say what the route expects.
AuditorDep = PrincipalDep
AdminDep = PrincipalDep
