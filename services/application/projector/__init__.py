"""The projector: follows the event store's global log and keeps the read models up to date."""
