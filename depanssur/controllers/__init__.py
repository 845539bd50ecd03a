from . import consent, credit_note, mandate, nps, portal, privacy, signup, signup_sepa, webhook
