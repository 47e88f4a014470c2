"""The JSON API (/api/v1): bearer tokens, measurements, sites, KPIs, OpenAPI document."""
