"""POST /depanssur/webhook: the receiver of Depanssur's tool events (docs/webhooks.md).

The accept path checks, in order: content type (415), size (413), signature and timestamp (401,
on the raw bytes), JSON (400), payload schema (400); then one INSERT ... ON CONFLICT DO NOTHING
(202 new, 200 already received) and, unless one is already pending, a trigger of the processing
cron. Every answer is JSON.

Odoo replays the whole request when its transaction meets a serialization failure
(``odoo.service.model.retrying``). A duplicate delivery that loses the race for the inbox row does:
under REPEATABLE READ, ``ON CONFLICT DO NOTHING`` on a row committed after the transaction's
snapshot raises one; the replay sees the row and answers ``200 duplicate``. The request's input
stream gives its bytes only once, so the body is read with werkzeug's cache (``get_data()``): the
replay verifies the same bytes.
"""

import logging
import time
from datetime import datetime, timezone

from odoo.http import Controller, request, route
from werkzeug.exceptions import RequestEntityTooLarge

from ..rules import webhook_contract, webhook_signature

_logger = logging.getLogger(__name__)

HARD_MAX_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_KB = 256


class DepanssurWebhookController(Controller):
    @route(
        "/depanssur/webhook",
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
        save_session=False,
        max_content_length=HARD_MAX_BYTES,
    )
    def receive(self, **_kwargs):
        httprequest = request.httprequest
        params = request.env["ir.config_parameter"].sudo()
        if httprequest.mimetype != "application/json":
            return self._answer(
                415, "unsupported_media_type", "Content-Type must be application/json"
            )
        max_kb = int(params.get_param("depanssur.webhook_max_kb", DEFAULT_MAX_KB))
        max_bytes = min(max_kb * 1024, HARD_MAX_BYTES)
        if (httprequest.content_length or 0) > max_bytes:
            return self._answer(413, "payload_too_large", f"Body over {max_bytes} bytes")
        try:
            # cached: Odoo's replay of the request after a serialization failure reads it again
            body = httprequest.get_data()
        except RequestEntityTooLarge:  # werkzeug >= 2.3: a chunked body over max_content_length
            body = None
        if body is None or len(body) > max_bytes:
            return self._answer(413, "payload_too_large", f"Body over {max_bytes} bytes")
        tolerance = int(params.get_param("depanssur.webhook_tolerance", 300))
        secrets = request.env["depanssur.webhook.secret"].sudo()._active_secrets()
        try:
            msg_id, _timestamp = webhook_signature.verify(
                secrets, httprequest.headers, body, now=int(time.time()), tolerance=tolerance
            )
        except webhook_signature.SignatureError as error:
            _logger.info("depanssur webhook refused: %s", error.code)
            return self._answer(401, error.code, str(error))
        try:
            payload = webhook_contract.parse_json(body)
            event_type, occurred_at, _data, _known = webhook_contract.validate_payload(
                payload, now=datetime.now(tz=timezone.utc)
            )
        except webhook_contract.PayloadError as error:
            return self._answer(400, error.code, error.message, path=error.path)
        events = request.env["depanssur.webhook.event"].sudo()
        if not events._accept(msg_id, event_type, occurred_at, payload):
            return self._accepted(200, "duplicate", msg_id)
        events._wake_processing()
        return self._accepted(202, "accepted", msg_id)

    def _accepted(self, status, state, msg_id):
        return request.make_json_response({"status": state, "id": msg_id}, status=status)

    def _answer(self, status, code, message, path=""):
        """A client error, as documented in docs/webhooks.md: ``{error, message, path}``."""
        body = {"error": code, "message": message, "path": path}
        return request.make_json_response(body, status=status)
