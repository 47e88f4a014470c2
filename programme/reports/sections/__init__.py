"""The parts several report screens show, each computed for a `Scope` (network.access):
funnel, waves and RAG, alerts, coaches, completeness, KPI trends, the table of sites."""
