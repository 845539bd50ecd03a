"""A company made able to collect by SEPA direct debit, for the tests and the benchmark (one
implementation): a bank journal on the creditor's IBAN with the SEPA direct debit method of the
OCA module, a payment mode on it, the company's creditor identifier."""

from odoo.fields import Command


def setup_sepa(env, code="SDDB", account_code="511900", name="SEPA bank"):
    """Set up ``env.company`` for direct debit; returns its SEPA payment mode."""
    company = env.company
    company.sepa_creditor_identifier = "FR78ZZZ424242"
    bank = env["res.bank"].create({"name": f"{name} (BNP)", "bic": "BNPAFRPPXXX"})
    company_account = env["res.partner.bank"].create(
        {
            "acc_number": "FR14 2004 1010 0505 0001 3M02 606",
            "bank_id": bank.id,
            "partner_id": company.partner_id.id,
            "company_id": company.id,
        }
    )
    outstanding = env["account.account"].create(
        {
            "code": account_code,
            "name": f"{name}: debits to collect",
            "account_type": "asset_current",
            "reconcile": True,
        }
    )
    sdd = env.ref("account_banking_sepa_direct_debit.sepa_direct_debit")
    journal = env["account.journal"].create(
        {
            "name": name,
            "type": "bank",
            "code": code,
            "bank_account_id": company_account.id,
            "inbound_payment_method_line_ids": [
                Command.create({"payment_method_id": sdd.id, "payment_account_id": outstanding.id})
            ],
        }
    )
    mode = env["account.payment.mode"].create(
        {
            "name": "Prélèvement SEPA",
            "company_id": company.id,
            "payment_method_id": sdd.id,
            "bank_account_link": "fixed",
            "fixed_journal_id": journal.id,
        }
    )
    company.depanssur_sepa_payment_mode_id = mode
    return mode
