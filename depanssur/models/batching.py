"""Batch helpers shared by the scheduled jobs (crons)."""


def batched(records, size):
    """Yield consecutive slices of ``records`` of at most ``size`` records."""
    for index in range(0, len(records), size):
        yield records[index : index + size]


def commit_progress(env, processed, remaining):
    """Commit and report progress when running as a cron job (``ir.cron._commit_progress``).

    Outside a cron run (a manual call, a test, a shell), nothing is committed here: the caller's
    transaction decides. Returns the time left for the cron run (``inf`` outside a cron); a falsy
    value means "stop now, the next run resumes".
    """
    if not env.context.get("ir_cron_progress_id"):
        return float("inf")
    return env["ir.cron"]._commit_progress(processed, remaining=remaining)


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
