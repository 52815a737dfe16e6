"""HTTP API: Powertools routers, request context and the JSON/error conventions of the seeds."""
