from . import credit_note, nps, portal, privacy, signup, webhook
