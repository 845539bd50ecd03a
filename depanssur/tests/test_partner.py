from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.fields import Command
from odoo.tests import tagged

from .common import DepanssurCase, activate_french


@tagged("post_install", "-at_install")
class TestPartner(DepanssurCase):
    def test_name_built_from_first_and_last_name(self):
        self.assertEqual(self.client.name, "Sophie Lefèvre")
        self.client.write({"last_name": "Moreau"})
        self.assertEqual(self.client.name, "Sophie Moreau")
        self.assertEqual(self.client.display_name, "Mrs. Sophie Moreau")
        activate_french(self.env)
        fr_name = self.client.with_context(lang="fr_FR")
        fr_name.invalidate_recordset(["display_name"])
        self.assertEqual(fr_name.display_name, "Mme Sophie Moreau")

    def test_company_name_untouched(self):
        company = self.env["res.partner"].create(
            {"name": "Plomberie Lyonnaise", "is_company": True, "civility": "mr"}
        )
        self.assertEqual(company.display_name, "Plomberie Lyonnaise")

    def test_phone_normalised_e164_france_by_default(self):
        self.assertEqual(self.client.mobile, "+33611223344")
        partner = self.env["res.partner"].create({"name": "Sans Pays", "phone": "04 78 00 11 22"})
        self.assertEqual(partner.phone, "+33478001122")
        partner.write({"mobile": "0033 6 99 88 77 66"})
        self.assertEqual(partner.mobile, "+33699887766")

    def test_phone_foreign_country(self):
        belgian = self.env["res.partner"].create(
            {
                "name": "Jan Peeters",
                "country_id": self.env.ref("base.be").id,
                "phone": "0470 12 34 56",
            }
        )
        self.assertEqual(belgian.phone, "+32470123456")
        # an explicit international prefix wins over the partner's country
        belgian.write({"mobile": "+33 6 12 34 56 78"})
        self.assertEqual(belgian.mobile, "+33612345678")

    def test_phone_invalid_rejected(self):
        for bad in ("12", "06 12 34", "not a phone", "+33 1 23"):
            with self.subTest(number=bad), self.assertRaises(ValidationError):
                self.env["res.partner"].create({"name": "Bad", "phone": bad})
        with self.assertRaises(ValidationError):
            self.client.write({"mobile": "0000"})
        self.assertEqual(self.client.mobile, "+33611223344")

    def test_consent_history_append_only(self):
        Consent = self.env["depanssur.consent"].with_user(self.user_agent)
        self.assertEqual(self.client.consent_marketing_email, "none")
        given = Consent.create(
            {
                "partner_id": self.client.id,
                "purpose": "marketing_email",
                "state": "given",
                "source": "phone",
                "date": "2026-01-10 10:00:00",
                "proof_text": "Agreed on the phone",
            }
        )
        self.assertEqual(given.channel, "email")
        self.assertEqual(given.user_id, self.user_agent)
        self.assertEqual(self.client.consent_marketing_email, "given")
        Consent.create(
            {
                "partner_id": self.client.id,
                "purpose": "marketing_email",
                "state": "withdrawn",
                "source": "web_form",
                "date": "2026-03-01 09:00:00",
            }
        )
        self.assertEqual(self.client.consent_marketing_email, "withdrawn")
        self.assertEqual(len(self.client.depanssur_consent_ids), 2)
        with self.assertRaises(UserError):
            given.with_user(self.user_manager).write({"state": "withdrawn"})
        with self.assertRaises(UserError):
            given.sudo().unlink()
        with self.assertRaises(AccessError):
            given.with_user(self.user_agent).unlink()

    def test_withdrawn_sms_consent_blacklists_number(self):
        Consent = self.env["depanssur.consent"]
        blacklist = self.env["phone.blacklist"].with_context(active_test=False)
        Consent.create(
            {"partner_id": self.client.id, "purpose": "marketing_sms", "state": "withdrawn"}
        )
        entry = blacklist.search([("number", "=", "+33611223344")])
        self.assertTrue(entry.active)
        self.client.invalidate_recordset()
        self.assertTrue(self.client.phone_sanitized_blacklisted)
        Consent.create({"partner_id": self.client.id, "purpose": "marketing_sms", "state": "given"})
        self.assertFalse(entry.active)

    def test_withdrawn_email_consent_blacklists_address(self):
        Consent = self.env["depanssur.consent"]
        Consent.create(
            {"partner_id": self.client.id, "purpose": "marketing_email", "state": "withdrawn"}
        )
        self.client.invalidate_recordset()
        self.assertTrue(self.client.is_blacklisted)
        # other purposes touch no blacklist
        Consent.create(
            {"partner_id": self.client.id, "purpose": "phone_canvassing", "state": "withdrawn"}
        )
        self.assertFalse(self.env["phone.blacklist"].search([("number", "=", "+33611223344")]))

    def test_anonymise(self):
        self.env["depanssur.consent"].create(
            {
                "partner_id": self.client.id,
                "purpose": "marketing_sms",
                "state": "given",
                "ip_address": "198.51.100.4",
                "proof_text": "ticked the box",
            }
        )
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": self.client.id,
                "invoice_line_ids": [
                    Command.create(
                        {"name": "Abonnement Essentiel", "quantity": 1, "price_unit": 9.9}
                    )
                ],
            }
        )
        invoice.action_post()
        with self.assertRaises(UserError):
            self.client.with_user(self.user_agent).action_depanssur_anonymize()
        with self.assertRaisesRegex(UserError, "not paid"):
            self.client.with_user(self.user_manager).action_depanssur_anonymize()
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids
        ).create({})._create_payments()
        self.client.with_user(self.user_manager).action_depanssur_anonymize()
        client = self.client.with_context(active_test=False)
        self.assertTrue(client.depanssur_anonymized)
        self.assertFalse(client.active)
        self.assertFalse(client.email or client.mobile or client.street or client.first_name)
        self.assertIn("Anonymised client", client.name)
        self.assertFalse(client.depanssur_consent_ids.ip_address)
        self.assertFalse(client.depanssur_consent_ids.proof_text)
        self.assertEqual(client.depanssur_consent_ids.state, "given")
        # accounting documents stay intact
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(invoice.partner_id, client)
        self.assertAlmostEqual(invoice.amount_untaxed, 9.9)
        with self.assertRaises(UserError):
            client.with_user(self.user_manager).action_depanssur_anonymize()
