from . import credit_note, webhook
