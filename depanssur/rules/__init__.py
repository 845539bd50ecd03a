"""Pure business rules of Depanssur: no ``odoo`` import here, so they run and test without Odoo.

The models call these functions; this package is the single place where coverage, caps, proration,
cut-offs, dunning ladders and KPI formulas are decided.
"""
