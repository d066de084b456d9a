"""Background work: the outbox relay, the task queue (Huey), event handlers and periodic jobs."""
