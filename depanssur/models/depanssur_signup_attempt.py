from datetime import timedelta

from odoo import api, fields, models

DEFAULT_LIMIT = 20  # POSTs of the sign-up pages per IP address ...
DEFAULT_WINDOW = 900  # ... within this many seconds


class DepanssurSignupAttempt(models.Model):
    """One POST of the public sign-up pages, kept a day: the per-IP rate limit counts them.

    Settings (system parameters): ``depanssur.signup_rate_limit`` (default 20) POSTs per IP
    address within ``depanssur.signup_rate_window`` seconds (default 900).
    """

    _name = "depanssur.signup.attempt"
    _description = "Sign-up attempt (rate limit)"
    _order = "date desc, id desc"
    _log_access = False

    ip = fields.Char(string="IP address", required=True)
    date = fields.Datetime(required=True, default=fields.Datetime.now)

    _ip_date_idx = models.Index("(ip, date)")

    @api.model
    def _rate_limit_settings(self):
        params = self.env["ir.config_parameter"].sudo()
        try:
            limit = int(params.get_param("depanssur.signup_rate_limit", DEFAULT_LIMIT))
            window = int(params.get_param("depanssur.signup_rate_window", DEFAULT_WINDOW))
        except ValueError:
            limit, window = DEFAULT_LIMIT, DEFAULT_WINDOW
        return max(limit, 1), max(window, 1)

    @api.model
    def _check_rate_limit(self, ip):
        """Count one attempt from ``ip``; False when ``ip`` is over its limit (then the attempt
        is not stored: a flood does not grow the table)."""
        limit, window = self._rate_limit_settings()
        Attempt = self.sudo()
        ip = (ip or "unknown")[:64]
        since = fields.Datetime.now() - timedelta(seconds=window)
        if Attempt.search_count([("ip", "=", ip), ("date", ">=", since)], limit=limit) >= limit:
            return False
        Attempt.create({"ip": ip})
        return True

    @api.model
    def _retry_after(self):
        """Seconds a limited client should wait (the window)."""
        return self._rate_limit_settings()[1]

    @api.autovacuum
    def _gc_old_attempts(self):
        keep = max(timedelta(days=1), timedelta(seconds=self._rate_limit_settings()[1]))
        self.sudo().search([("date", "<", fields.Datetime.now() - keep)]).unlink()
