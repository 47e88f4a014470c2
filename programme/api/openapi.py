"""The OpenAPI 3.1 document of /api/v1 (a test checks it names every route)."""

from __future__ import annotations

from typing import Any


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "401": {"$ref": "#/components/responses/Unauthorized"},
}


def openapi_document(max_items: int, max_bytes: int) -> dict[str, Any]:
    error = _ref("Error")
    invalid = _json(_ref("ValidationErrors"), "Invalid items: nothing was written.")
    too_large = _json(
        error, f"Body larger than {max_bytes // (1024 * 1024)} MB or more than {max_items} items."
    )
    bad_json = _json(error, "The body is not valid JSON.")
    forbidden = _json(error, "Authenticated, but the token's user may not do this.")
    measurement_filters = [
        {"name": "site", "in": "query", "schema": {"type": "string"}, "description": "Site code."},
        {"name": "kpi", "in": "query", "schema": {"type": "string"}, "description": "KPI code."},
        {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
        {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}},
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 5000, "default": 500},
        },
        {
            "name": "after",
            "in": "query",
            "schema": {"type": "integer", "minimum": 0},
            "description": "Cursor: the last id of the previous page (use the `next` link).",
        },
    ]
    pilot_id = {"name": "pilot_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    number_or_null = {"type": ["number", "null"]}
    pilot_schemas = {
        "PilotKpi": {
            "type": "object",
            "required": ["kpi"],
            "properties": {
                "kpi": {"type": "string", "description": "KPI code."},
                "target_relative": {
                    "type": ["number", "null"],
                    "description": "Relative change, e.g. -0.2 for −20 %.",
                },
            },
        },
        "PilotInput": {
            "type": "object",
            "required": [
                "name",
                "kpis",
                "pilot_sites",
                "baseline_start",
                "baseline_end",
                "pilot_start",
                "pilot_end",
            ],  # fmt: skip
            "properties": {
                "name": {"type": "string"},
                "kpis": {"type": "array", "items": _ref("PilotKpi")},
                "pilot_sites": {"type": "array", "items": {"type": "string"}},
                "control_sites": {"type": "array", "items": {"type": "string"}},
                "baseline_start": {"type": "string", "format": "date"},
                "baseline_end": {"type": "string", "format": "date"},
                "pilot_start": {"type": "string", "format": "date"},
                "pilot_end": {"type": "string", "format": "date"},
                "description": {"type": "string"},
                "randomize": {
                    "type": "boolean",
                    "description": "true: draw the arms by matched pairs from candidate_sites "
                    "(leave pilot_sites and control_sites out). Sites are paired within the "
                    "same type and region, then type, by neighbouring baseline level of the "
                    "first KPI; a numpy default_rng(seed) coin per pair picks the pilot site.",
                },
                "candidate_sites": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "With randomize: at least 4 sites (2 pairs); an odd one "
                    "out is left out.",
                },
                "seed": {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": 2147483647,
                    "description": "With randomize: the draw's seed (drawn and recorded "
                    "when left out).",
                },
            },
        },
        "Pilot": {
            "type": "object",
            "required": ["id", "name", "stage"],
            "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "stage": {"enum": ["design", "running", "evaluating", "decided"]},
                "baseline_start": {"type": "string", "format": "date"},
                "baseline_end": {"type": "string", "format": "date"},
                "pilot_start": {"type": "string", "format": "date"},
                "pilot_end": {"type": "string", "format": "date"},
                "pilot_sites": {"type": "array", "items": {"type": "string"}},
                "control_sites": {"type": "array", "items": {"type": "string"}},
                "kpis": {"type": "array", "items": _ref("PilotKpi")},
                "improvements": {"type": "array", "items": {"type": "object"}},
                "supporting_functions": {"type": "array", "items": {"type": "string"}},
                "decision": {"type": ["object", "null"]},
                "package": {"type": ["integer", "null"]},
                "randomized": {
                    "type": "boolean",
                    "description": "The arms are a matched-pair draw's, unchanged since.",
                },
                "randomization": {
                    "type": ["object", "null"],
                    "description": "The draw's record: {seed, pairs: [{pilot, control}]}.",
                },
            },
        },
        "PilotResult": {
            "type": "object",
            "properties": {
                "kpi": {"type": "string"},
                "baseline_mean": number_or_null,
                "pilot_mean": number_or_null,
                "effect": number_or_null,
                "relative_effect": number_or_null,
                "ci_low": number_or_null,
                "ci_high": number_or_null,
                "p_value": number_or_null,
                "n_pilot_sites": {"type": "integer"},
                "n_control_sites": {"type": "integer"},
                "completeness": number_or_null,
                "target_reached": {"type": "boolean"},
                "reading": {"type": "string"},
                "leading_method": {
                    "type": ["string", "null"],
                    "enum": ["randomization", "welch", "one_sample", None],
                    "description": "The result the reading, relative_effect and target_reached "
                    "use: the randomization test when either arm has fewer than 10 sites "
                    "(effect, ci_low, ci_high and p_value stay Welch's).",
                },
                "randomization": _ref("Randomization"),
                "synthetic_control": {
                    "oneOf": [_ref("SyntheticControl"), {"type": "null"}],
                    "description": "For pilots with 1 to 3 pilot sites, else null.",
                },
            },
        },
        "Randomization": {
            "type": "object",
            "description": (
                "Randomization inference adjusted on the baseline, over the sites with data "
                "in both phases (X = n-weighted baseline mean, Y = n-weighted pilot-period "
                "mean). theta = OLS slope of Y on X over all sites used, Σ(X−X̄)(Y−Ȳ)/Σ(X−X̄)² "
                "(1 when Σ(X−X̄)² = 0); Ỹ = Y − theta·(X − X̄); effect T = mean Ỹ(pilot) − "
                "mean Ỹ(control). p_value: two-sided permutation p-value of T over the "
                "reassignments of the pilot labels with theta fixed, as "
                "scipy.stats.permutation_test(..., permutation_type='independent') computes "
                "it: exact over all C(N, k) reassignments when C(N, k) ≤ 100,000, else "
                "20,000 seeded resamples (exact = false). For a design drawn at random by "
                "matched pairs (randomized_design = true), only the 2^pairs swaps within "
                "pairs. ci_low/ci_high: test inversion, the τ whose p-value for "
                "(Ỹ_pilot − τ, Ỹ_control) is ≥ 0.05, ends found by bisection to 1e-6. "
                "min_p = min(1, 2 / n_assignments): the smallest p-value the design can "
                "give; when it is above 0.05 both interval ends are null. Numbers are null "
                "when not computable; `reading` says why."
            ),
            "properties": {
                "effect": number_or_null,
                "theta": number_or_null,
                "p_value": number_or_null,
                "ci_low": number_or_null,
                "ci_high": number_or_null,
                "min_p": number_or_null,
                "n_assignments": {"type": ["integer", "null"]},
                "exact": {"type": "boolean"},
                "randomized_design": {"type": "boolean"},
            },
        },
        "SyntheticControl": {
            "type": "object",
            "description": (
                "Per pilot site, donors = the pilot's control sites with data in every week "
                "used (at least 4); weekly n-weighted means over the whole weeks of the "
                "baseline (pre) and of the pilot period (post). Weights w ≥ 0, Σw = 1 "
                "minimise Σ_pre (pilot − Σ w_j·donor_j)² (exact QP through scipy.optimize."
                "nnls). effect = mean over post weeks of pilot − synthetic (mean over pilot "
                "sites). p_value = (1 + number of donors whose post/pre RMSPE ratio, refitted "
                "as if treated against the other donors, is ≥ the pilot's) / (J + 1); with "
                "several pilot sites the pilot's ratio is the mean of theirs. pre_rmspe and "
                "post_rmspe: root-mean-squared gaps (mean over pilot sites). Numbers null "
                "when not computable; `reading` says why."
            ),
            "properties": {
                "effect": number_or_null,
                "p_value": number_or_null,
                "weights": {
                    "type": "object",
                    "description": "{pilot site code: {donor site code: weight}}",
                    "additionalProperties": {
                        "type": "object",
                        "additionalProperties": {"type": "number"},
                    },
                },
                "pre_rmspe": number_or_null,
                "post_rmspe": number_or_null,
            },
        },
        "PilotResults": {
            "type": "object",
            "properties": {
                "pilot": {"type": "integer"},
                "results": {"type": "array", "items": _ref("PilotResult")},
            },
        },
    }
    date_type = {"type": "string", "format": "date"}
    states = ["not_started", "in_progress", "in_place", "sustained"]
    deployment_schemas: dict[str, Any] = {
        "Package": {
            "type": "object",
            "required": ["id", "name", "elements"],
            "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "elements": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "integer"},
                            "name": {"type": "string"},
                            "kind": {"enum": ["process", "tool", "indicator", "routine"]},
                        },
                    },
                },
            },
        },
        "WaveInput": {
            "type": "object",
            "required": ["name", "package", "start", "go_live"],
            "properties": {
                "name": {"type": "string"},
                "package": {"type": "integer"},
                "start": date_type,
                "go_live": date_type,
                "sites": {"type": "array", "items": {"type": "string"}},
            },
        },
        "Wave": {
            "type": "object",
            "required": ["id", "name", "package", "start", "go_live", "status", "sites"],
            "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string"},
                "package": {"type": "integer"},
                "start": date_type,
                "go_live": date_type,
                "status": {"enum": ["planned", "preparing", "deploying", "stabilising", "closed"]},
                "sites": {"type": "array", "items": {"type": "string"}},
                "progress": {"type": "number", "minimum": 0, "maximum": 1},
            },
        },
        "SiteProgress": {
            "type": "object",
            "properties": {
                "site": {"type": "string"},
                "wave": {"type": ["integer", "null"]},
                "progress": {"type": ["number", "null"]},
                "items": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "element": {"type": "integer"},
                            "name": {"type": "string"},
                            "kind": {"type": "string"},
                            "state": {"enum": states},
                            "state_on": {"type": ["string", "null"], "format": "date"},
                            "updated_by": {"type": ["string", "null"]},
                            "evidence": {"type": ["string", "null"]},
                        },
                    },
                },
            },
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Programme API",
            "version": "1.0.0",
            "description": (
                "Push KPI measurements and sync the network. Authenticate with a personal "
                "token: `Authorization: Bearer <token>` (create it on the account page or with "
                "`flask --app app create-token EMAIL`). The token acts with its owner's "
                "permissions. Writes are all-or-nothing."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/kpis": {
                "get": {
                    "summary": "The KPI catalogue",
                    "operationId": "listKpis",
                    "responses": {
                        "200": _json({"type": "array", "items": _ref("Kpi")}, "The KPIs."),
                        **ERRORS,
                    },
                }
            },
            "/sites": {
                "get": {
                    "summary": "The sites the token's user may see",
                    "operationId": "listSites",
                    "responses": {
                        "200": _json({"type": "array", "items": _ref("Site")}, "The sites."),
                        **ERRORS,
                    },
                },
                "post": {
                    "summary": "Create or update sites by code (programme office only)",
                    "operationId": "upsertSites",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "array",
                                    "maxItems": max_items,
                                    "items": _ref("SiteInput"),
                                }
                            }
                        },
                    },
                    "responses": {
                        "201": _json(_ref("SiteCounts"), "Sites written."),
                        "400": bad_json,
                        **ERRORS,
                        "403": forbidden,
                        "413": too_large,
                        "422": invalid,
                    },
                },
            },
            "/measurements": {
                "get": {
                    "summary": "Measurements of the sites the token's user may see",
                    "operationId": "listMeasurements",
                    "parameters": measurement_filters,
                    "responses": {
                        "200": _json(_ref("MeasurementPage"), "One page, oldest id first."),
                        **ERRORS,
                        "422": _json(_ref("ValidationErrors"), "Unknown filter value."),
                    },
                },
                "post": {
                    "summary": "Add measurements (same value again: unchanged; new value: correction)",
                    "operationId": "postMeasurements",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "array",
                                    "maxItems": max_items,
                                    "items": _ref("MeasurementInput"),
                                }
                            }
                        },
                    },
                    "responses": {
                        "201": _json(_ref("MeasurementCounts"), "All items written."),
                        "400": bad_json,
                        **ERRORS,
                        "403": _json(
                            _ref("Forbidden"),
                            "The user may not write one of the sites (or may not write at all).",
                        ),
                        "413": too_large,
                        "422": invalid,
                    },
                },
            },
            "/pilots": {
                "post": {
                    "summary": "Create a pilot (programme office only)",
                    "operationId": "createPilot",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("PilotInput")}},
                    },
                    "responses": {
                        "201": _json(_ref("Pilot"), "The pilot, created at the design stage."),
                        "400": bad_json,
                        **ERRORS,
                        "403": forbidden,
                        "422": _json(
                            _ref("ValidationErrors"),
                            "Per-field errors (overlapping periods, a site in both arms, "
                            "unknown codes, a target of the wrong sign, fewer than 2 pairs "
                            "of candidate sites, no baseline data to match them on): "
                            "nothing was written.",
                        ),
                    },
                }
            },
            "/pilots/{pilot_id}": {
                "get": {
                    "summary": "One pilot's design and decision",
                    "operationId": "getPilot",
                    "parameters": [pilot_id],
                    "responses": {
                        "200": _json(_ref("Pilot"), "The pilot."),
                        **ERRORS,
                        "403": forbidden,
                        "404": _json(error, "No such pilot."),
                    },
                }
            },
            "/pilots/{pilot_id}/results": {
                "get": {
                    "summary": "The pilot's results per KPI",
                    "description": (
                        "Per site and phase, the n-weighted mean; per site Δ = pilot-phase "
                        "mean − baseline mean; effect = mean Δ of the pilot sites − mean Δ of "
                        "the control sites (one-sample without control); 95 % CI and p-value "
                        "from Welch's t-test (one-sample t-test without control). Beside it, "
                        "`randomization`: the baseline-adjusted randomization test (see the "
                        "Randomization schema), which leads the reading and target_reached "
                        "when either arm has fewer than 10 sites. Numbers are null where not "
                        "computable; `reading` says why."
                    ),
                    "operationId": "getPilotResults",
                    "parameters": [pilot_id],
                    "responses": {
                        "200": _json(_ref("PilotResults"), "One result per KPI of the pilot."),
                        **ERRORS,
                        "403": forbidden,
                        "404": _json(error, "No such pilot."),
                    },
                }
            },
            "/packages": {
                "get": {
                    "summary": "Packages with their elements",
                    "operationId": "listPackages",
                    "responses": {
                        "200": _json(
                            {"type": "array", "items": _ref("Package")},
                            "Every package, each with its elements.",
                        ),
                        **ERRORS,
                        "403": forbidden,
                    },
                }
            },
            "/waves": {
                "get": {
                    "summary": "Deployment waves with their progress",
                    "operationId": "listWaves",
                    "responses": {
                        "200": _json({"type": "array", "items": _ref("Wave")}, "Every wave."),
                        **ERRORS,
                        "403": forbidden,
                    },
                },
                "post": {
                    "summary": "Plan a wave (programme office only; past dates are allowed)",
                    "operationId": "createWave",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("WaveInput")}},
                    },
                    "responses": {
                        "201": _json(_ref("Wave"), "The wave, with one checklist per site."),
                        "400": bad_json,
                        **ERRORS,
                        "403": forbidden,
                        "422": _json(
                            _ref("ValidationErrors"),
                            "Per-field errors (go-live before start, a site already in another "
                            "active wave of the same package, unknown codes): nothing was "
                            "written.",
                        ),
                    },
                },
            },
            "/waves/{wave_id}": {
                "get": {
                    "summary": "One wave",
                    "operationId": "getWave",
                    "parameters": [
                        {
                            "name": "wave_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        }
                    ],  # fmt: skip
                    "responses": {
                        "200": _json(_ref("Wave"), "The wave."),
                        **ERRORS,
                        "403": forbidden,
                        "404": _json(error, "No such wave."),
                    },
                }
            },
            "/sites/{code}/progress": {
                "get": {
                    "summary": "A site's checklist in its current wave",
                    "description": (
                        "The checklist of the site's active wave (else its latest wave): one "
                        "item per package element with its state and date. `progress` = share "
                        "of elements in place or sustained."
                    ),
                    "operationId": "getSiteProgress",
                    "parameters": [
                        {
                            "name": "code",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],  # fmt: skip
                    "responses": {
                        "200": _json(_ref("SiteProgress"), "The site's checklist."),
                        **ERRORS,
                        "403": forbidden,
                        "404": _json(error, "No such site."),
                    },
                }
            },
            "/impact": {
                "get": {
                    "summary": "Deployment impact of a package on one KPI",
                    "description": (
                        "For each wave with go-live g: per site, Δ = n-weighted mean over "
                        "[g, g + W weeks) − n-weighted mean over [g − W weeks, g). ATT of the "
                        "wave = mean Δ of its sites − mean Δ of the comparison sites (sites "
                        "not in the wave whose own go-live in the package is not before the "
                        "end of the post window, never-deployed sites included). The "
                        "estimate is the mean of the ATTs weighted by each wave's sites used, "
                        "with a 95 % interval from a site-level bootstrap (1,000 resamples, "
                        "fixed seed). A wave with fewer than 5 comparison sites with data, or "
                        "not live for a whole week, is left out; a wave still within its post "
                        "window is computed on the whole weeks elapsed. Numbers are null "
                        "where not computable; `reading` says why. Roles: admin, executive, "
                        "pilot team."
                    ),
                    "operationId": "getImpact",
                    "parameters": [
                        {
                            "name": "kpi",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string"},
                            "description": "KPI code, e.g. WAIT.",
                        },
                        {
                            "name": "package",
                            "in": "query",
                            "schema": {"type": "integer"},
                            "description": "Package id; may be left out when only one "
                            "package has waves.",
                        },
                        {
                            "name": "window_weeks",
                            "in": "query",
                            "schema": {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": 52,
                                "default": 8,
                            },
                        },
                    ],
                    "responses": {
                        "200": _json(_ref("Impact"), "The estimate, per wave."),
                        **ERRORS,
                        "403": forbidden,
                        "422": _json(
                            _ref("ValidationErrors"),
                            "Unknown KPI or package, a window outside 1–52 weeks, or no "
                            "package given while several packages have waves.",
                        ),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "operationId": "openapi",
                    "security": [],
                    "responses": {"200": {"description": "The OpenAPI document."}},
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {
                "Unauthorized": _json(error, "Missing, unknown or revoked token."),
            },
            "schemas": {
                **pilot_schemas,
                **deployment_schemas,
                "WaveImpact": {
                    "type": "object",
                    "required": ["wave", "go_live", "att", "n_treated", "n_comparison"],
                    "properties": {
                        "wave": {"type": "integer"},
                        "go_live": {"type": "string", "format": "date"},
                        "att": {
                            "type": ["number", "null"],
                            "description": "Null when the wave is left out.",
                        },
                        "n_treated": {
                            "type": "integer",
                            "description": "Wave sites with data in both windows.",
                        },
                        "n_comparison": {
                            "type": "integer",
                            "description": "Comparison sites with data in both windows.",
                        },
                    },
                },
                "Impact": {
                    "type": "object",
                    "required": [
                        "kpi",
                        "window_weeks",
                        "estimate",
                        "ci_low",
                        "ci_high",
                        "n_sites",
                        "waves",
                        "reading",
                    ],  # fmt: skip
                    "properties": {
                        "kpi": {"type": "string"},
                        "window_weeks": {"type": "integer"},
                        "estimate": {"type": ["number", "null"]},
                        "ci_low": {"type": ["number", "null"]},
                        "ci_high": {"type": ["number", "null"]},
                        "n_sites": {"type": "integer"},
                        "waves": {"type": "array", "items": _ref("WaveImpact")},
                        "reading": {"type": "string"},
                    },
                },
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "string"}},
                },
                "Forbidden": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {"type": "string"},
                        "errors": {"type": "array", "items": _ref("ItemError")},
                    },
                },
                "ItemError": {
                    "type": "object",
                    "required": ["index", "field", "message"],
                    "properties": {
                        "index": {"type": ["integer", "null"]},
                        "field": {"type": "string"},
                        "message": {"type": "string"},
                    },
                },
                "ValidationErrors": {
                    "type": "object",
                    "required": ["errors"],
                    "properties": {"errors": {"type": "array", "items": _ref("ItemError")}},
                },
                "Kpi": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "string"},
                        "name": {
                            "type": "object",
                            "properties": {"en": {"type": "string"}, "fr": {"type": "string"}},
                        },
                        "unit": {"type": "string"},
                        "kind": {"enum": ["mean", "rate"]},
                        "better": {"enum": ["lower", "higher"]},
                        "min": {"type": "number"},
                        "max": {"type": "number"},
                        "period": {"enum": ["day", "week"]},
                        "active": {"type": "boolean"},
                    },
                },
                "Site": {
                    "type": "object",
                    "required": ["code", "name", "region", "type"],
                    "properties": {
                        "code": {"type": "string"},
                        "name": {"type": "string"},
                        "region": {"type": "string"},
                        "type": {"type": "string"},
                        "country": {"type": "string"},
                        "city": {"type": ["string", "null"]},
                        "operator": {"enum": ["internal", "outsourced"]},
                        "provider": {"type": ["string", "null"]},
                    },
                },
                "SiteInput": {
                    "type": "object",
                    "required": ["code", "name", "type", "region"],
                    "properties": {
                        "code": {"type": "string", "maxLength": 40},
                        "name": {"type": "string", "maxLength": 200},
                        "type": {
                            "type": "string",
                            "description": "branch, shop, agency, call_centre, visa_centre, "
                            "field_sales",
                        },
                        "region": {"type": "string", "description": "Created when new."},
                        "country": {"type": "string", "minLength": 2, "maxLength": 2},
                        "operator": {"enum": ["internal", "outsourced"]},
                        "provider": {"type": "string"},
                        "city": {"type": "string"},
                    },
                },
                "SiteCounts": {
                    "type": "object",
                    "properties": {
                        "created": {"type": "integer"},
                        "updated": {"type": "integer"},
                        "unchanged": {"type": "integer"},
                    },
                },
                "MeasurementInput": {
                    "type": "object",
                    "required": ["site", "kpi", "date", "value", "n"],
                    "properties": {
                        "site": {"type": "string", "description": "Site code."},
                        "kpi": {"type": "string", "description": "KPI code."},
                        "date": {
                            "type": "string",
                            "format": "date",
                            "description": "Not in the future; a Monday for weekly KPIs.",
                        },
                        "value": {
                            "type": "number",
                            "description": "Within the KPI's range; a rate is successes / n.",
                        },
                        "n": {"type": "integer", "minimum": 1, "description": "Sample size."},
                        "source": {
                            "type": "string",
                            "maxLength": 120,
                            "description": "Defaults to the token's name.",
                        },
                        "reason": {
                            "type": "string",
                            "maxLength": 500,
                            "description": "Why, when the item corrects an earlier value.",
                        },
                    },
                },
                "MeasurementCounts": {
                    "type": "object",
                    "required": ["created", "unchanged", "corrected"],
                    "properties": {
                        "created": {"type": "integer"},
                        "unchanged": {"type": "integer"},
                        "corrected": {"type": "integer"},
                    },
                },
                "Measurement": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "site": {"type": "string"},
                        "kpi": {"type": "string"},
                        "date": {"type": "string", "format": "date"},
                        "value": {"type": "number"},
                        "n": {"type": "integer"},
                        "source": {"type": "string"},
                        "revision": {"type": "integer"},
                        "entered_at": {"type": "string", "format": "date-time"},
                    },
                },
                "MeasurementPage": {
                    "type": "object",
                    "required": ["items", "next"],
                    "properties": {
                        "items": {"type": "array", "items": _ref("Measurement")},
                        "next": {"type": ["string", "null"], "format": "uri"},
                    },
                },
            },
        },
    }
