from odoo.tests import TransactionCase, new_test_user


class DepanssurCase(TransactionCase):
    """One test user per role, a French client, fixed references used across the suite."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.company = cls.env.company
        cls.fr = cls.env.ref("base.fr")
        cls.user_agent = new_test_user(
            cls.env, login="dp_agent", groups="depanssur.group_depanssur_agent", name="Alice Agent"
        )
        cls.user_manager = new_test_user(
            cls.env,
            login="dp_manager",
            groups="depanssur.group_depanssur_manager",
            name="Marc Manager",
        )
        cls.user_accounting = new_test_user(
            cls.env,
            login="dp_accounting",
            groups="depanssur.group_depanssur_accounting",
            name="Annie Accounting",
        )
        cls.user_portal = new_test_user(cls.env, login="dp_portal", groups="base.group_portal")
        cls.user_internal = new_test_user(cls.env, login="dp_internal", groups="base.group_user")
        cls.client = cls.env["res.partner"].create(
            {
                "civility": "mrs",
                "first_name": "Sophie",
                "last_name": "Lefèvre",
                "email": "sophie.lefevre@example.fr",
                "mobile": "06 11 22 33 44",
                "street": "3 place Bellecour",
                "zip": "69002",
                "city": "Lyon",
                "country_id": cls.fr.id,
            }
        )
