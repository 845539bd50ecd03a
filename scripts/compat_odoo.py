"""Odoo's command line, with every selected test run once the registry is complete.

Used by scripts/compat.sh to run Odoo's own tests on a database that already has its modules
installed (with or without depanssur). Odoo runs a module's ``at_install`` tests while it loads
that module, with only the modules below it in the registry: on a complete database their
fixtures then trip over the columns the other modules added (NOT NULL without a default). Here
no test runs at load time, and the post-install phase runs every test that ``--test-tags``
selects, whatever its position, on the fully loaded registry: the database an integrator has.

Usage: python scripts/compat_odoo.py <the arguments of odoo-bin>
"""

from odoo import tools
from odoo.tests import loader
from odoo.tests.suite import OdooSuite
from odoo.tests.tag_selector import TagsSelector


def make_suite(module_names, position="at_install"):
    if position != "post_install":
        return OdooSuite([])
    selector = TagsSelector(tools.config["test_tags"])
    tests = (
        test
        for module_name in module_names
        for test_module in loader.get_test_modules(module_name)
        for test in loader.get_module_test_cases(test_module)
        if selector.check(test)
    )
    return OdooSuite(sorted(tests, key=lambda t: getattr(t, "test_sequence", 0)))


loader.make_suite = make_suite

if __name__ == "__main__":
    from odoo.cli.command import main

    main()
