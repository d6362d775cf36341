"""SLA alerts: list with filters, one alert with its webhook delivery log, and acknowledgement by a person."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from projections.sla.queries import AlertQuery
from projections.sla.reducer import Alert, AlertState, Severity
from services.application.sla.acks import AlertNotFound, AlreadyAcknowledged, NotAllowed, acknowledge_alert
from services.entrypoints.api.auth import Principal, PrincipalDep
from services.entrypoints.api.deps import NowDep, SlaViewsDep
from services.entrypoints.api.problems import Problem
from services.entrypoints.api.sla_schemas import AckIn, AckOut, AlertDetail, AlertList, AlertOut, DeliveryOut

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])


def alert_in_scope(alert: Alert, principal: Principal) -> bool:
    """Department and manager tokens see their own department's alerts."""
    return principal.department is None or alert.department == principal.department


@router.get("", response_model=AlertList, operation_id="list_alerts")
async def list_alerts(
    principal: PrincipalDep,
    views: SlaViewsDep,
    state: AlertState | None = None,
    department: str | None = None,
    severity: Severity | None = None,
    case_id: Annotated[str | None, Query(alias="case")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AlertList:
    """SLA warnings and breaches, newest first (filters: state, department, severity, case). Department tokens
    list their department's alerts only."""
    scope = principal.department
    if scope is not None and department not in (None, scope):
        return AlertList(alerts=[])
    query = AlertQuery(state=state, department=scope or department, severity=severity, case_id=case_id, limit=limit)
    alerts = await run_in_threadpool(views.store.alerts, query)
    return AlertList(alerts=[AlertOut.of(a) for a in alerts])


@router.get("/{alert_id}", response_model=AlertDetail, operation_id="get_alert", responses={404: {}})
async def get_alert(principal: PrincipalDep, views: SlaViewsDep, alert_id: UUID) -> AlertDetail:
    """One alert, with the log of its webhook deliveries."""
    alert = await run_in_threadpool(views.store.alert, str(alert_id))
    if alert is None or not alert_in_scope(alert, principal):
        raise Problem(404, "Alert not found", f"No alert {alert_id}.")
    deliveries = await run_in_threadpool(views.deliveries.for_alert, str(alert_id))
    return AlertDetail(**AlertOut.of(alert).model_dump(), deliveries=[DeliveryOut.of(d, a) for d, a in deliveries])


@router.post("/{alert_id}/ack", response_model=AckOut, status_code=201, operation_id="acknowledge_alert",
             responses={403: {}, 404: {}, 409: {}})
async def acknowledge(principal: PrincipalDep, views: SlaViewsDep, now: NowDep, alert_id: UUID,
                      body: AckIn) -> AckOut:
    """Record that a person took the alert in hand (`sla.alert_acknowledged`; once per alert). Allowed for the
    manager of the alert's department (404 for another department's alert), the role it escalated to, and the
    ops and admin roles."""
    alert = await run_in_threadpool(views.store.alert, str(alert_id))
    if alert is not None and not alert_in_scope(alert, principal):
        raise Problem(404, "Alert not found", f"no alert {alert_id}")
    try:
        _, event = await run_in_threadpool(
            lambda: acknowledge_alert(views.event_store, views.store, alert_id, by=body.acknowledged_by,
                                      note=body.note, principal=principal.name, now=now))
    except AlertNotFound as exc:
        raise Problem(404, "Alert not found", str(exc)) from exc
    except NotAllowed as exc:
        raise Problem(403, "Forbidden", str(exc)) from exc
    except AlreadyAcknowledged as exc:
        raise Problem(409, "Already acknowledged", str(exc)) from exc
    return AckOut(alert_id=str(alert_id), event_id=str(event.event_id), acknowledged_by=body.acknowledged_by,
                  acknowledged_at=event.occurred_at, note=body.note)
