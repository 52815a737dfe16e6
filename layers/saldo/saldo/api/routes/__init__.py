"""One router per API area. `saldo.api.registry` lists them for the OpenAPI document."""
