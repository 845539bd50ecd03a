from . import credit_note, portal, signup, webhook
