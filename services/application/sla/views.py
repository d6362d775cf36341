"""What the SLA endpoints read: the read model, the configuration, the delivery log, the event store."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from projections.sla.queries import SlaStore
from services.adapters.config import SlaConfig, load_sla_config
from services.adapters.settings import Settings
from services.adapters.store.eventstore import EventStore
from services.adapters.webhooks.deliveries import DeliveryStore


@dataclass
class SlaViews:
    """What the SLA endpoints need: the read model, the configuration, the delivery log, the event store."""

    store: SlaStore
    config: SlaConfig
    deliveries: DeliveryStore
    event_store: EventStore


def build_sla_views(settings: Settings, store: SlaStore, event_store: EventStore, views: Engine) -> SlaViews:
    deliveries = DeliveryStore(views)
    deliveries.create()
    return SlaViews(store, load_sla_config(settings.config_dir), deliveries, event_store)
