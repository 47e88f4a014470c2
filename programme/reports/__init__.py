"""Leadership reports: programme at a glance, region / wave / site reports, deployment
impact, value, Excel and PDF exports, monthly snapshots.

- The perimeter: `network.access` (`Scope`, `scope_for`); waves in a scope:
  `deployment.access.get_wave_in_scope_or_403`.
- `cache`: the one cache API (`cached`, `stamp`; no domain), `stamps`: the stamps of the
  sections and the impact, `freshness`: the headline impacts recomputed after writes.
- `sections/`: the parts several screens show (funnel, waves and RAG, alerts, coaches,
  completeness, trends, sites); `screens/`: one read model per screen (glance, stage,
  region, wave, site, home); `dashboard`: the at-a-glance partials with their charts and
  the deltas since the last snapshot.
- `impact`, `value`, `value_screens`: deployment impact and value; `snapshots` + `models`,
  `exports` (XLSX / PDF), `charts` (Vega-Lite specs), `render` (spec → SVG).
- Views: `views`, `export_views`, `impact_views`, `value_views`."""
