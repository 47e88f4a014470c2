"""Continuous customer feedback and closing the loop.

Responses arrive from every source (survey tools, complaints, call-centre notes, a note
taken at the counter) through one validated, all-or-nothing intake (`services.record_responses`).
A detractor or a complaint from a customer who agreed to be contacted opens a case for
the site, due a number of working days later in the site's time zone; the site's manager
calls back, then closes the case with an outcome and a root cause.

Sits between diagnostics/kpis and pilots: it may import network, kpis and diagnostics."""
