from . import (
    account_payment_register,
    depanssur_address_change_wizard,
    depanssur_dossier_decision_wizard,
    depanssur_sale_wizard,
    depanssur_sepa_wizards,
    depanssur_subscription_change_wizard,
    depanssur_terminate_wizard,
)
