from . import test_partner, test_security
