"""Deployment in waves: waves, site checklists, coaches, assignments, visits, engagement, communication plans, alerts."""
