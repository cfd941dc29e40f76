"""Staff API for campaigns: create, change, run, and read their history.

The JSON shapes here are also what `patronage campaigns create --file` reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, status
from pydantic import BaseModel, Field

from patronage.api.deps import AuditDep, EditorDep, PatronageDep, staff_router
from patronage.api.outputs import model_from
from patronage.application.audit import Audit
from patronage.application.campaigns import (
    Campaigns,
    CampaignSettings,
    HistoryEntry,
    UnknownCampaignError,
)
from patronage.application.performance import VariantPerformance, performance
from patronage.bootstrap import Patronage
from patronage.domain.campaign import (
    ARTICLE_COUNT_FROM,
    CampaignRuleError,
    CampaignSpec,
    Targeting,
    Variant,
)
from patronage.domain.money import Money, MoneyError

T = TypeVar("T")


class AmountsIn(BaseModel):
    currency: str
    one_time: list[int]
    monthly: list[int]
    default_one_time: int
    default_monthly: int


class ActionIn(BaseModel):
    text: str
    url: str = ""


class VariantIn(BaseModel):
    name: str
    heading: str
    paragraphs: list[str] = []
    highlighted: str = ""
    cta: ActionIn
    secondary: ActionIn | None = None
    amounts: list[AmountsIn]
    default_frequency: str = "monthly"
    article_count_from: int = Field(
        default=ARTICLE_COUNT_FROM, ge=1, le=1000, description="Show %%ARTICLE_COUNT%% copy from"
    )

    def to_domain(self) -> Variant:
        return Variant.from_dict(self.model_dump())


class GoalIn(BaseModel):
    amount: str = Field(examples=["25000.00"])
    currency: str = Field(examples=["USD"])


class CampaignIn(BaseModel):
    """A campaign's settings; `targeting` keys are those of `Targeting` (docs/asks.md)."""

    code: str = Field(pattern=r"^[a-z0-9_-]{1,60}$")
    name: str
    priority: int = 0
    targeting: dict[str, Any] = {}
    goal: GoalIn | None = None

    def to_settings(self) -> CampaignSettings:
        goal = None if self.goal is None else Money.parse(self.goal.amount, self.goal.currency)
        return CampaignSettings(
            code=self.code,
            name=self.name,
            priority=self.priority,
            targeting=Targeting.from_dict(self.targeting),
            goal=goal,
        )


class NewCampaignIn(CampaignIn):
    variants: list[VariantIn] = []


class ScheduleIn(BaseModel):
    starts_at: datetime | None = None
    ends_at: datetime | None = None


class CampaignOut(BaseModel):
    code: str
    name: str
    priority: int
    status: str
    starts_at: datetime | None
    ends_at: datetime | None
    goal: str | None
    targeting: dict[str, Any]
    variants: list[dict[str, Any]]

    @classmethod
    def of(cls, spec: CampaignSpec) -> CampaignOut:
        return model_from(
            cls,
            spec,
            status=spec.status.value,
            goal=None if spec.goal is None else str(spec.goal),
            targeting=spec.targeting.as_dict(),
            variants=[v.as_dict() for v in spec.variants],
        )


class HistoryOut(BaseModel):
    version: int
    at: datetime
    change: str
    by: str
    details: dict[str, Any]

    @classmethod
    def of(cls, entry: HistoryEntry) -> HistoryOut:
        return cls(**vars(entry))


def get_campaigns(patronage: PatronageDep) -> Campaigns:
    return patronage.campaigns


CampaignsDep = Annotated[Campaigns, Depends(get_campaigns)]
router = staff_router(
    "/staff/campaigns", "staff: campaigns", not_found="no campaign with that code"
)


def run(command: Callable[[], T]) -> T:
    """A campaign command, with refused input as 422 and an unknown code as 404."""
    try:
        return command()
    except UnknownCampaignError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(error)) from None
    except (CampaignRuleError, MoneyError, KeyError, TypeError, ValueError) as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(error)) from None


def _spec(campaigns: Campaigns, code: str) -> CampaignSpec:
    spec = campaigns.catalogue.get(code)
    if spec is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no campaign {code!r}")
    return spec


@router.get("")
def list_campaigns(_staff: EditorDep, campaigns: CampaignsDep) -> list[CampaignOut]:
    return [CampaignOut.of(s) for s in campaigns.catalogue.specs()]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_campaign(
    body: NewCampaignIn, staff: EditorDep, campaigns: CampaignsDep, audit: AuditDep
) -> CampaignOut:
    with audit.action(staff, "campaign.created", body.code):
        run(
            lambda: campaigns.create(
                body.to_settings(), [v.to_domain() for v in body.variants], by=staff
            )
        )
    return CampaignOut.of(_spec(campaigns, body.code))


@router.get("/{code}")
def show_campaign(code: str, _staff: EditorDep, campaigns: CampaignsDep) -> CampaignOut:
    return CampaignOut.of(_spec(campaigns, code))


@dataclass(frozen=True)
class Editing:
    """An editor changing campaigns, each change recorded in the audit trail."""

    by: str
    campaigns: Campaigns
    audit: Audit

    def change(self, action: str, code: str, command: Callable[[], CampaignSpec]) -> CampaignOut:
        """A change to campaign `code`, recorded in the audit trail as `action`."""
        with self.audit.action(self.by, action, code):
            return CampaignOut.of(run(command))


def editing(staff: EditorDep, campaigns: CampaignsDep, audit: AuditDep) -> Editing:
    return Editing(staff, campaigns, audit)


EditingDep = Annotated[Editing, Depends(editing)]


@router.put("/{code}")
def retarget_campaign(code: str, body: CampaignIn, edit: EditingDep) -> CampaignOut:
    if body.code != code:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="code cannot change")
    return edit.change(
        "campaign.retargeted", code,
        lambda: edit.campaigns.retarget(body.to_settings(), by=edit.by),
    )  # fmt: skip


@router.post("/{code}/variants", status_code=status.HTTP_201_CREATED)
def add_variant(code: str, body: VariantIn, edit: EditingDep) -> CampaignOut:
    return edit.change(
        "campaign.variant_added", code,
        lambda: edit.campaigns.add_variant(code, body.to_domain(), by=edit.by),
    )  # fmt: skip


@router.put("/{code}/variants/{name}")
def edit_copy(code: str, name: str, body: VariantIn, edit: EditingDep) -> CampaignOut:
    if body.name != name:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="name cannot change")
    return edit.change(
        "campaign.copy_edited", code,
        lambda: edit.campaigns.edit_copy(code, body.to_domain(), by=edit.by),
    )  # fmt: skip


@router.delete("/{code}/variants/{name}")
def retire_variant(code: str, name: str, edit: EditingDep) -> CampaignOut:
    return edit.change(
        "campaign.variant_retired", code,
        lambda: edit.campaigns.retire_variant(code, name, by=edit.by),
    )  # fmt: skip


@router.put("/{code}/schedule")
def schedule(code: str, body: ScheduleIn, edit: EditingDep) -> CampaignOut:
    return edit.change(
        "campaign.scheduled", code,
        lambda: edit.campaigns.schedule(code, body.starts_at, body.ends_at, by=edit.by),
    )  # fmt: skip


@router.post("/{code}/start")
def start(code: str, edit: EditingDep) -> CampaignOut:
    return edit.change("campaign.started", code, lambda: edit.campaigns.start(code, by=edit.by))


@router.post("/{code}/pause")
def pause(code: str, edit: EditingDep) -> CampaignOut:
    return edit.change("campaign.paused", code, lambda: edit.campaigns.pause(code, by=edit.by))


@router.post("/{code}/end")
def end(code: str, edit: EditingDep) -> CampaignOut:
    return edit.change("campaign.ended", code, lambda: edit.campaigns.end(code, by=edit.by))


@router.get("/{code}/history")
def history(code: str, _staff: EditorDep, campaigns: CampaignsDep) -> list[HistoryOut]:
    return [HistoryOut.of(e) for e in run(lambda: campaigns.history(code))]


class VariantPerformanceOut(BaseModel):
    variant: str
    views: int
    gifts: int
    conversion_basis_points: int | None = Field(
        description="Gifts per 10,000 views; null before the first view"
    )
    revenue: list[str]
    revenue_per_thousand_views: list[str]


def variant_results(patronage: Patronage, spec: CampaignSpec) -> list[VariantPerformance]:
    """Each variant's views, gifts, conversion and revenue, retired variants included."""
    since = spec.created_on.date() if spec.created_on else datetime.now(UTC).date()
    views = patronage.impressions.views(spec.code, since)
    gifts = patronage.campaign_results.gifts_per_variant(spec.code)
    names = [v.name for v in spec.variants]
    names += sorted((set(views) | set(gifts)) - set(names))  # retired variants too
    return performance(names, views, gifts)


@router.get("/{code}/performance")
def campaign_performance(
    code: str, _staff: EditorDep, patronage: PatronageDep
) -> list[VariantPerformanceOut]:
    """Views, gifts, conversion and revenue per thousand views for each variant."""
    return [
        model_from(
            VariantPerformanceOut,
            row,
            conversion_basis_points=row.conversion_bp,
            revenue=[str(m) for m in row.revenue],
            revenue_per_thousand_views=[str(m) for m in row.revenue_per_mille],
        )
        for row in variant_results(patronage, _spec(patronage.campaigns, code))
    ]
