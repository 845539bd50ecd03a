"""Running queue_job jobs in tests the way its runner does.

queue_job's runner (``jobrunner``) marks a pending job enqueued and calls the ``/queue_job/runjob``
route, whose ``RunJobController`` acquires the job (state started, committed, job row locked),
performs it in a savepoint, and stores it done; on an exception it stores it failed on a cursor of
its own. ``run_queued_jobs`` does the same, calling the controller's class methods inside
``enter_registry_test_mode()``: each job on a cursor of its own (a ``TestCursor`` on the test's
transaction), its commits released savepoints.
"""

import contextlib

from odoo import api
from odoo.addons.queue_job.controllers.main import RunJobController
from odoo.addons.queue_job.job import Job


def run_queued_jobs(case, order=None, limit=None):
    """Run the pending jobs (oldest first, or as ``order(uuids)`` sorts them) through the runner's
    path; returns ``{uuid: state}`` of the jobs run. ``case`` is a ``BaseCase``."""
    pending = case.env["queue.job"].search(
        [("state", "=", "pending")], order="date_created, id", limit=limit
    )
    uuids = pending.mapped("uuid")
    if order:
        uuids = order(uuids)
    states = {}
    with case.enter_registry_test_mode():
        for uuid in uuids:
            with case.registry.cursor() as cr:
                env = api.Environment(cr, case.env.uid, {})
                job = Job.load(env, uuid)
                job.set_enqueued()  # what the runner writes (in SQL) before calling the route
                job.store()
                env.flush_all()
                job = RunJobController._acquire_job(env, uuid)
                # a failure is stored by the controller on a cursor of its own, then re-raised
                # (the route's transaction is rolled back: the job's savepoint already is)
                with contextlib.suppress(Exception):
                    RunJobController._runjob(env, job)
    case.env.invalidate_all()  # the jobs were written on other cursors' caches
    for uuid in uuids:
        states[uuid] = case.env["queue.job"].search([("uuid", "=", uuid)]).state
    return states
