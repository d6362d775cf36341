"""SERVQUAL survey answers: expectation and perception per item, with the gap scores computed on demand."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from statistics import fmean
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from contracts.envelope import Envelope, Payload
from contracts.fields import ContractModel, Label


class ServqualDimension(StrEnum):
    """The five SERVQUAL dimensions of service quality."""

    RELIABILITY = "reliability"
    RESPONSIVENESS = "responsiveness"
    ASSURANCE = "assurance"
    EMPATHY = "empathy"
    TANGIBLES = "tangibles"


class ServqualItem(ContractModel):
    """One questionnaire item: what the customer expected and what they perceived, each on a 1-7 scale."""

    dimension: ServqualDimension = Field(description="Dimension the item measures.")
    item: Label = Field(description="Item code or wording, e.g. `REL-1` or the question text.")
    expectation: int = Field(
        ge=1, le=7, description="Expected level, 1 (strongly disagree) to 7 (strongly agree)."
    )
    perception: int = Field(ge=1, le=7, description="Perceived level, same scale.")

    @property
    def gap(self) -> int:
        """Perception minus expectation: negative means the service fell short."""
        return self.perception - self.expectation


def servqual_gaps(items: Sequence[ServqualItem]) -> dict[ServqualDimension, float]:
    """Mean gap of each dimension present in `items`, in the canonical dimension order."""
    return {
        dimension: fmean(item.gap for item in items if item.dimension is dimension)
        for dimension in ServqualDimension
        if any(item.dimension is dimension for item in items)
    }


class ServqualImportance(ContractModel):
    """How much each dimension matters to the customer: 100 points split over the five dimensions."""

    reliability: int = Field(ge=0, le=100, description="Points given to reliability.")
    responsiveness: int = Field(ge=0, le=100, description="Points given to responsiveness.")
    assurance: int = Field(ge=0, le=100, description="Points given to assurance.")
    empathy: int = Field(ge=0, le=100, description="Points given to empathy.")
    tangibles: int = Field(ge=0, le=100, description="Points given to tangibles.")

    @model_validator(mode="after")
    def _hundred_points(self) -> ServqualImportance:
        total = sum(self.points(dimension) for dimension in ServqualDimension)
        if total != 100:
            raise PydanticCustomError(
                "servqual_importance_total", "importance points must add up to 100, not {total}", {"total": total}
            )
        return self

    def points(self, dimension: ServqualDimension) -> int:
        value: int = getattr(self, dimension.value)
        return value


class SurveyServqualAnsweredPayload(Payload):
    """Answers to a SERVQUAL questionnaire. Gap scores are computed properties, never serialized."""

    survey_id: Label = Field(description="Id of the survey response.")
    items: tuple[ServqualItem, ...] = Field(
        min_length=5,
        max_length=100,
        description="Answered items; every one of the five dimensions must appear.",
    )
    importance: ServqualImportance | None = Field(
        default=None,
        description="Importance points (100 split over the five dimensions), when the questionnaire asked; "
        "they weight the dimension gaps into the weighted SERVQUAL score.",
    )

    @field_validator("items")
    @classmethod
    def _complete_and_unique(cls, items: tuple[ServqualItem, ...]) -> tuple[ServqualItem, ...]:
        missing = [d.value for d in ServqualDimension if all(item.dimension is not d for item in items)]
        if missing:
            raise PydanticCustomError(
                "servqual_dimension_missing",
                "items lack the dimension(s): {missing}",
                {"missing": ", ".join(missing)},
            )
        keys = [(item.dimension, item.item) for item in items]
        if len(set(keys)) != len(keys):
            raise PydanticCustomError(
                "servqual_item_duplicate", "each (dimension, item) may be answered only once"
            )
        return items

    @property
    def mean_gap_by_dimension(self) -> dict[ServqualDimension, float]:
        """Mean perception-minus-expectation gap per dimension."""
        return servqual_gaps(self.items)

    @property
    def overall_mean_gap(self) -> float:
        """Unweighted SERVQUAL score: the mean of the five dimension gaps (each dimension counts equally)."""
        return fmean(self.mean_gap_by_dimension.values())

    def summary(self) -> str:
        return f"SERVQUAL survey answered: {len(self.items)} items, overall gap {self.overall_mean_gap:+.2f}"


class SurveyServqualAnswered(Envelope):
    """A customer answered a SERVQUAL questionnaire (expectation vs perception on the five dimensions).

    The payload offers `mean_gap_by_dimension` and `overall_mean_gap` (perception minus expectation) as
    computed properties; they are not part of the wire format.
    """

    event_type: Literal["survey.servqual_answered"] = "survey.servqual_answered"
    schema_version: Literal[1] = 1
    payload: SurveyServqualAnsweredPayload

    EXAMPLE: ClassVar[dict[str, Any]] = {
        "source": {"department": "quality", "channel": "web", "system": "survey"},
        "payload": {
            "survey_id": "S-2026-11-0093",
            "items": [
                {
                    "dimension": "reliability",
                    "item": "REL-1 按承諾時間提供服務",
                    "expectation": 7,
                    "perception": 5,
                },
                {
                    "dimension": "responsiveness",
                    "item": "RES-1 prompt service",
                    "expectation": 6,
                    "perception": 6,
                },
                {"dimension": "assurance", "item": "ASS-1 員工值得信賴", "expectation": 6, "perception": 7},
                {
                    "dimension": "empathy",
                    "item": "EMP-1 individual attention",
                    "expectation": 5,
                    "perception": 4,
                },
                {"dimension": "tangibles", "item": "TAN-1 營業廳環境整潔", "expectation": 5, "perception": 6},
            ],
        },
    }
