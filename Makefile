# The two commands of the README: `make run` and `make test`.
.PHONY: run test check lint types imports bench venv

venv:
	@bash scripts/bootstrap.sh

run: venv
	.venv/bin/charterbot serve --demo

# The whole suite: lint, types, layering, then pytest (PostgreSQL tests included when reachable;
# under CI=true they must run).
test: venv
	@if [ "$${CI:-}" = "true" ]; then bash scripts/ensure-postgres.sh; else bash scripts/ensure-postgres.sh || echo "PostgreSQL tests will be skipped"; fi
	bash scripts/ensure-browser.sh
	bash scripts/ensure-pgbouncer.sh
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports
	.venv/bin/mypy charter storage
	.venv/bin/mypy bot
	.venv/bin/mypy bench
	# Coverage is measured where it is enforced, on charter/ (the rules, 100% of branches), by
	# charter/'s own tests, which alone exercise all of it: tracing the whole suite for it cost
	# about two of its ten minutes. Then everything else, untraced. Two workers (pytest-xdist):
	# every test has its own database file or schema and its own ports, and the suite takes
	# about half as long on two cores.
	.venv/bin/python -m pytest -n 2 -p pytest_cov --cov=charter --cov-report=term:skip-covered --cov-report=xml:coverage.xml -q tests/charter
	.venv/bin/python -m coverage report --include='charter/*' --fail-under=100 --skip-covered
	.venv/bin/python -m pytest -n 2 -q --ignore=tests/charter

# Every benchmark, one after another (each prints its ratios measured side by side).
bench: venv
	for b in audit webhooks chat fanout dashboard; do echo "== bench/$$b.py"; .venv/bin/python bench/$$b.py || exit 1; done
