"""Batch helpers shared by the scheduled jobs (crons)."""

import contextvars

# Set when a batch loop stopped because the cron run's time was up while work was left
# (``ir.cron._commit_progress`` returned 0): the step runner (``depanssur.job.run``) then traces
# the step as interrupted, and the next run resumes it.
_time_up = contextvars.ContextVar("depanssur_time_up", default=False)


def batched(records, size):
    """Yield consecutive slices of ``records`` of at most ``size`` records."""
    for index in range(0, len(records), size):
        yield records[index : index + size]


def browse_in_chunks(model, ids, size=1000):
    """Yield ``model.browse(chunk)`` for consecutive chunks of ``ids``, flushing and emptying the
    cache after each: a pass over a set that grows with the book (the daily run's coordinator
    preparing a step) holds one chunk's records in memory, not the whole set's."""
    for index in range(0, len(ids), size):
        yield model.browse(ids[index : index + size])
        model.env.flush_all()
        model.env.invalidate_all()


def in_cron_run(env):
    """Whether ``env`` runs inside Odoo's cron runner (``ir.cron._run_job`` puts the progress
    record in the context): only then do the jobs commit."""
    return bool(env.context.get("ir_cron_progress_id"))


def commit_progress(env, processed, remaining):
    """Commit and report progress when running as a cron job (``ir.cron._commit_progress``).

    Outside a cron run (a manual call, a test, a shell), nothing is committed here: the caller's
    transaction decides. Returns the time left for the cron run (``inf`` outside a cron); a falsy
    value means "stop now, the next run resumes".
    """
    if not in_cron_run(env):
        return float("inf")
    time_left = env["ir.cron"]._commit_progress(processed, remaining=remaining)
    if not time_left and remaining:
        _time_up.set(True)
    return time_left


def watch_time_up():
    """Start watching a step: returns a function telling whether a batch loop of the step stopped
    because the cron's time was up with work left."""
    _time_up.set(False)
    return _time_up.get


def run_in_batches(env, records, size, function):
    """Call ``function(batch)`` on consecutive batches of ``records``, reporting progress (and
    committing, in a cron run) after each; stop early when the cron's time is up (the next run
    resumes: every job is idempotent). Returns ``records``."""
    done = 0
    for batch in batched(records, size):
        function(batch)
        done += len(batch)
        if not commit_progress(env, len(batch), len(records) - done):
            break
    return records


class BatchedStep:
    """A step of a run whose work splits into independent batches of records.

    Called, it runs the whole step as before (``run()``: a direct call, or a cron run without the
    job queue). The coordinator of the daily run (``depanssur.job.batch``) instead asks
    ``records()`` for the records to process when the step starts and enqueues one job per batch
    of ``size`` on ``channel``; each job calls ``process(batch)``, which must be idempotent (it
    re-checks the state of its records: a batch run twice changes nothing more).

    ``finish`` (optional) is called once every batch is done, by one last job of the step (the
    SEPA debit step generates its bank files there); ``run()`` calls it itself.
    """

    def __init__(self, run, records, process, size=200, channel=None, finish=None):
        self.run = run
        self.records = records
        self.process = process
        self.size = size
        self.channel = channel
        self.finish = finish

    def __call__(self):
        return self.run()


def written_by_system(env):
    """Whether the system writes now (a scheduled job, a webhook's processing: the cron runner,
    the superuser, the public user), not a person: what it writes on a client's records is then
    in the client's language, and on its own records (job traces, webhook events) in the
    company's, never in the language of the technical user running it."""
    return in_cron_run(env) or env.user._is_superuser() or env.user._is_public()


def company_env(env, company=None):
    """``env`` in the language of ``company`` (default: the env's) when the system writes."""
    if not written_by_system(env):
        return env
    company = company or env.company
    return env(context=dict(env.context, lang=company.partner_id.lang or env.lang))
