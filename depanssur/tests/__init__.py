from . import test_dossier, test_partner, test_security, test_subscription, test_webhook
