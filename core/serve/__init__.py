"""Serve: revisions of long-running services, their replicas, autoscaling and one endpoint each.

    models.py      Service, Revision, Replica, metric names, the checks a revision spec must pass
    store.py       the serve tables in the shared SQLite store
    actions.py     ServeActions: create, start, stop, scale, reproduce, delete, traffic (CLI and TUI)
    keeper.py      one detached process per service: replicas as engine runs, readiness, restarts,
                   draining, autoscaling, and the endpoint
    endpoint.py    the aiohttp reverse proxy: weighted split between revisions, least-outstanding
                   requests between replicas
    autoscaler.py  pure scaling decisions with cooldowns and reasons

Clients import `core.serve.actions`; nothing here imports textual, and aiohttp loads only in the
keeper (through `endpoint`).
"""
