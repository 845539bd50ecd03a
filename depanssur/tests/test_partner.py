from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.fields import Command
from odoo.http import Request
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools.safe_eval import safe_eval

from .common import DepanssurCase, DepanssurSubscriptionCase, activate_french


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
            {
                "name": "Plomberie Lyonnaise",
                "is_company": True,
                "civility": "mr",
                "depanssur_client": True,
            }
        )
        self.assertEqual(company.display_name, "Plomberie Lyonnaise")
        self.assertFalse(company.first_name or company.last_name)

    def test_non_client_display_name_untouched(self):
        """The civility prefixes the name of Depanssur's clients only."""
        contact = self.env["res.partner"].create({"name": "Paul Durand", "civility": "mr"})
        self.assertEqual(contact.display_name, "Paul Durand")
        contact.depanssur_client = True
        self.assertEqual(contact.display_name, "Mr. Paul Durand")

    def test_name_parts_follow_the_name(self):
        """Other modules write ``name`` only: the parts are derived from it."""
        Partner = self.env["res.partner"]
        contact = Partner.create({"name": "DUPONT Jean"})
        self.assertEqual((contact.first_name, contact.last_name), ("Jean", "DUPONT"))
        self.assertEqual(contact.name, "DUPONT Jean", "the name itself is never rewritten")
        contact.write({"name": "Jean de La Fontaine"})
        self.assertEqual((contact.first_name, contact.last_name), ("Jean", "de La Fontaine"))
        # the parts written by Depanssur's forms are kept while they spell the name
        self.client.write({"first_name": "Marie Sophie", "last_name": "Lefèvre"})
        self.assertEqual(self.client.name, "Marie Sophie Lefèvre")
        self.client.write({"name": "Marie Sophie Lefèvre-Durand"})
        self.assertEqual(
            (self.client.first_name, self.client.last_name), ("Marie Sophie", "Lefèvre-Durand")
        )
        # an address is not a person
        home = Partner.create(
            {"name": "12 rue de la République", "type": "other", "parent_id": contact.id}
        )
        self.assertFalse(home.first_name or home.last_name)
        # a user created by another module (its partner through _inherits)
        user = self.env["res.users"].create({"name": "Léa Martin", "login": "lea.martin"})
        self.assertEqual((user.first_name, user.last_name), ("Léa", "Martin"))

    def test_client_through_depanssur_forms(self):
        Partner = self.env["res.partner"]
        contact = Partner.create({"name": "Paul Durand"})
        self.assertFalse(contact.depanssur_client)
        # Depanssur's Clients menu creates clients
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "depanssur.res_partner_action_clients"
        )
        context = dict(safe_eval(action["context"], {"ref": lambda xmlid: self.env.ref(xmlid).id}))
        from_menu = Partner.with_context(**context).create({"name": "Nina Roux"})
        self.assertTrue(from_menu.depanssur_client)
        self.assertEqual(
            Partner.search([*safe_eval(action["domain"]), ("id", "in", (contact | from_menu).ids)]),
            from_menu,
        )
        with self.assertRaises(ValidationError), self.env.cr.savepoint():
            Partner.with_context(**context).create({"name": "Bad", "phone": "12"})

    def test_phone_normalised_e164_france_by_default(self):
        self.assertEqual(self.client.mobile, "+33611223344")
        partner = self.env["res.partner"].create(
            {"name": "Sans Pays", "phone": "04 78 00 11 22", "depanssur_client": True}
        )
        self.assertEqual(partner.phone, "+33478001122")
        partner.write({"mobile": "0033 6 99 88 77 66"})
        self.assertEqual(partner.mobile, "+33699887766")

    def test_phone_foreign_country(self):
        belgian = self.env["res.partner"].create(
            {
                "name": "Jan Peeters",
                "country_id": self.env.ref("base.be").id,
                "phone": "0470 12 34 56",
                "depanssur_client": True,
            }
        )
        self.assertEqual(belgian.phone, "+32470123456")
        # an explicit international prefix wins over the partner's country
        belgian.write({"mobile": "+33 6 12 34 56 78"})
        self.assertEqual(belgian.mobile, "+33612345678")

    def test_phone_invalid_rejected_for_clients(self):
        for bad in ("12", "06 12 34", "not a phone", "+33 1 23"):
            with self.subTest(number=bad), self.assertRaises(ValidationError):
                self.env["res.partner"].create(
                    {"name": "Bad", "phone": bad, "depanssur_client": True}
                )
        with self.assertRaises(ValidationError):
            self.client.write({"mobile": "0000"})
        with self.assertRaises(ValidationError):
            self.client.write({"phone": "+3200000000000"})
        self.assertEqual(self.client.mobile, "+33611223344")

    def test_phone_of_other_contacts_kept_as_odoo_keeps_it(self):
        """Odoo's policy elsewhere: format when valid, keep what was typed otherwise."""
        Partner = self.env["res.partner"]
        be = self.env.ref("base.be")
        us = self.env.ref("base.us")
        # Odoo's own portal tests create these
        kept = Partner.create({"name": "Portal", "phone": "+3200000000000", "country_id": be.id})
        self.assertEqual(kept.phone, "+3200000000000")
        kept.write({"phone": "1234567890", "country_id": us.id})
        self.assertEqual(kept.phone, "1234567890")
        # `phone` is Odoo's field: stored as given (Odoo's form formats it when valid)
        typed = Partner.create({"name": "Typed", "phone": "04 78 00 11 22"})
        self.assertEqual(typed.phone, "04 78 00 11 22")
        # `mobile` is Depanssur's: formatted when valid, kept otherwise
        typed.write({"mobile": "06 99 88 77 66", "country_id": self.fr.id})
        self.assertEqual(typed.mobile, "+33699887766")
        typed.write({"mobile": "ask the neighbour"})
        self.assertEqual(typed.mobile, "ask the neighbour")
        # becoming a client does not refuse the numbers it already had
        typed.depanssur_client = True
        self.assertEqual(typed.mobile, "ask the neighbour")
        with self.assertRaises(ValidationError):
            typed.write({"mobile": "ask the neighbour again"})

    def test_find_client_by_a_number_typed_any_way(self):
        contact = self.env["res.partner"].create(
            {"name": "Ancien Contact", "phone": "04.78.00.11.22", "country_id": self.fr.id}
        )
        found = self.env["res.partner"]._depanssur_find_client(phone="+33 4 78 00 11 22")
        self.assertEqual(found, contact)

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


@tagged("post_install", "-at_install")
class TestPartnerBecomesClient(DepanssurSubscriptionCase):
    def test_subscription_makes_a_client(self):
        contact = self.env["res.partner"].create(
            {
                "name": "Paul Durand",
                "civility": "mr",
                "phone": "n/a",
                "street": "1 rue Neuve",
                "zip": "69001",
                "city": "Lyon",
            }
        )
        self.assertFalse(contact.depanssur_client)
        self.assertEqual(contact.display_name, "Paul Durand")
        self._subscribe(partner=contact, confirm=False)
        self.assertTrue(contact.depanssur_client)
        self.assertEqual(contact.display_name, "Mr. Paul Durand")
        self.assertEqual(contact.phone, "n/a", "nothing refused after the fact")
        with self.assertRaises(ValidationError):
            contact.write({"phone": "still n/a"})


@tagged("post_install", "-at_install")
class TestPartnerPortalAddress(HttpCase):
    """Odoo's portal address form, as a portal user: Depanssur's phone rule for its clients only."""

    def _submit(self, partner, **values):
        return self.url_open(
            "/my/address/submit",
            data={
                "name": partner.name,
                "email": partner.email,
                "street": "123 Main St",
                "city": "Anytown",
                "zipcode": "12345",
                "country_id": self.env.ref("base.us").id,
                "state_id": self.env.ref("base.state_us_5").id,
                "partner_id": str(partner.id),
                "csrf_token": Request.csrf_token(self),
                **values,
            },
        )

    def test_portal_address_phone(self):
        user = new_test_user(
            self.env, login="dp_portal_addr", groups="base.group_portal", email="p@example.com"
        )
        partner = user.partner_id
        self.authenticate("dp_portal_addr", "dp_portal_addr")
        # another module's flow, on a contact that is not a client: kept as typed (Odoo's policy)
        response = self._submit(partner, phone="1234567890")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(partner.phone, "1234567890")
        # a Depanssur client: an invalid number is refused, nothing saved
        partner.depanssur_client = True
        response = self._submit(partner, phone="12345", street="1 Other St")
        self.assertNotEqual(response.status_code, 200)
        partner.invalidate_recordset()
        self.assertEqual((partner.phone, partner.street), ("1234567890", "123 Main St"))
        response = self._submit(partner, phone="+1 650 253 0000")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(partner.phone, "+16502530000")
