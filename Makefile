.PHONY: run test pure lint stop

run:  ## Odoo + depanssur + demo data on http://127.0.0.1:8069 (private PostgreSQL in .pgdata/)
	bash scripts/run.sh

test:  ## ruff, pure tests, then the whole Odoo suite when `import odoo` works
	bash scripts/test.sh

pure:  ## pure tests only
	python3 -m pytest tests -q

lint:
	python3 -m ruff check . && python3 -m ruff format --check .

stop:  ## stop the private PostgreSQL cluster
	bash -c 'source scripts/lib.sh; pg_stop'
