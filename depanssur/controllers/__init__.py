from . import credit_note, mandate, nps, portal, privacy, signup, webhook
