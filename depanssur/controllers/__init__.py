from . import credit_note, nps, portal, signup, webhook
