# Two commands: `make run` starts the platform on embedded defaults, `make test` runs the whole suite.
.PHONY: run test test-django lint venv emulators migrate

PYTHON ?= python3

venv:
	@bash scripts/ensure_venv.sh

run:
	@bash scripts/run.sh

test:
	@bash scripts/test.sh

# The Django-side suite only (CI runs it a second time with DATABASE_URL pointing at PostgreSQL).
test-django:
	@bash scripts/test.sh --django-only

lint: venv
	.venv/bin/ruff check .

emulators:
	@bash scripts/install_emulators.sh

migrate: venv
	.venv/bin/python manage.py migrate --noinput
