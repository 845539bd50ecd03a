.PHONY: run test pure lint compat stop

run:  ## Odoo + depanssur + demo data on http://127.0.0.1:8069 (private PostgreSQL in .pgdata/)
	bash scripts/run.sh

test:  ## ruff, pure tests, then the whole Odoo suite when `import odoo` works
	bash scripts/test.sh

pure:  ## pure tests only
	python3 -m pytest tests -q

lint:  ## ruff, then OCA's gates: pylint-odoo (.pylintrc), module and .po checks (.oca_hooks.cfg)
	python3 -m ruff check . && python3 -m ruff format --check .
	python3 -m pylint --rcfile=.pylintrc depanssur
	oca-checks-odoo-module --no-verbose depanssur/__manifest__.py
	oca-checks-po --no-verbose depanssur/i18n/*.po depanssur/i18n/*.pot

compat:  ## Odoo's own tests with and without depanssur, install/upgrade/uninstall on a live database
	bash scripts/compat.sh

stop:  ## stop the private PostgreSQL cluster
	bash -c 'source scripts/lib.sh; pg_stop'
