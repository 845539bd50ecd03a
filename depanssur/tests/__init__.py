from . import (
    test_credit_note,
    test_dossier,
    test_dunning,
    test_hardening,
    test_jobs,
    test_journey,
    test_kpi,
    test_partner,
    test_security,
    test_subscription,
    test_ui,
    test_webhook,
)
