"""Shared helpers for the benchmarks: the private cluster, a bench database, Odoo registries."""

import os
import resource
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = os.environ.get("DEPANSSUR_BENCH_DB", "depanssur_bench")


def shell(command):
    """Run ``command`` with scripts/lib.sh sourced (private PostgreSQL helpers)."""
    return subprocess.run(
        ["bash", "-c", f"source {ROOT}/scripts/lib.sh && {command}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def ensure_database(db):
    """Create ``db`` with depanssur (no demo data) on the private cluster when missing."""
    shell("pg_start")
    exists = shell(f"db_exists {db} && echo yes || echo no")
    if exists == "yes":
        return
    print(f"creating database {db} with depanssur (a few minutes)...", flush=True)
    shell(
        f"odoo_cmd -d {db} -i depanssur --load-language=fr_FR --stop-after-init "
        "--http-interface=127.0.0.1 "
        "--http-port=0 --log-level=warn"
    )


def odoo_config(db):
    import odoo
    from odoo.tools import config

    addons = shell("odoo_addons_path")
    config.parse_config(
        [
            f"--addons-path={addons}",
            "--db_host=127.0.0.1",
            f"--db_port={os.environ.get('DEPANSSUR_PGPORT', '55432')}",
            "--db_user=odoo",
            f"--data-dir={ROOT / '.odoo-data'}",
            "--http-interface=127.0.0.1",
            "--log-level=warn",
        ]
    )
    return odoo


@contextmanager
def environment(db, commit=False):
    """An ``env`` as superuser on ``db``; rolled back unless ``commit``."""
    odoo = odoo_config(db)
    from odoo import api
    from odoo.modules.registry import Registry

    registry = Registry(db)
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        try:
            yield env
        finally:
            if commit:
                cr.commit()
            else:
                cr.rollback()
    del odoo


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss():
    """Start measuring this process's peak RSS from now (Linux: VmHWM reset to the current RSS;
    ``ru_maxrss`` is not reset)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def current_peak_rss_mb():
    """This process's peak RSS (VmHWM) since the last ``reset_peak_rss``."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return peak_rss_mb()


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def out(line=""):
    print(line, flush=True)
    sys.stdout.flush()
