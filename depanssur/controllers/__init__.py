from . import consent, credit_note, nps, portal, privacy, signup, webhook
