"""Long work (imports, large exports): a `job` row polled by the page, run by a worker
thread in the app process, or by RQ (`flask --app app worker`) when REDIS_URL is set."""
