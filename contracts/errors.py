"""Errors raised by the contracts package: why an incoming event was refused.

ContractError                 base of everything this package raises
 └── InvalidEvent             the data is not a valid v1 event; `.errors` says where and why
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with an incoming event.

    `loc` is a dotted path into the event ("payload.items[2].perception", "source.department"); the empty
    string means the document as a whole. `type` is a stable machine-readable code (pydantic's error type, or
    one of `json_invalid`, `object_type`, `unknown_event_type`, `unknown_schema_version`). `message` never
    echoes the input value, so errors are safe to log and to put in dead-letter headers.
    """

    loc: str
    message: str
    type: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.loc or '<event>'}: {self.message} [{self.type}]"


class ContractError(Exception):
    """Base class of the errors raised by `contracts`."""


class InvalidEvent(ContractError):
    """The data is not a valid touchline event; `errors` lists every problem found."""

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors: tuple[FieldError, ...] = tuple(errors)
        super().__init__("; ".join(str(error) for error in self.errors) or "invalid event")

    def __reduce__(self) -> tuple[type[InvalidEvent], tuple[tuple[FieldError, ...]]]:
        return type(self), (self.errors,)  # picklable across process boundaries
