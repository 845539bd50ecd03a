# ruff: noqa: F821
"""A database that already lives, for scripts/compat.sh (run by ``odoo shell``, stdin).

``MODE`` is set by the caller before this file:

- ``seed``: contacts as an existing Odoo has them (messy phones, full names only, companies and
  their contacts, an archived contact), customer invoices (one posted, one draft), a portal and an
  internal user. Put in the compatibility template, so the runs with and without depanssur see
  the same data.
- ``assets``: the web asset bundles generated once in the template (Odoo generates them before
  the first HttpCase test otherwise, minutes on a loaded machine, in every copy).
- ``installed``: after ``-i depanssur`` or ``-u depanssur``: nothing lost or rewritten (names,
  phones, emails, display names, invoices, users), the first/last names split from the full
  names, nobody turned into a Depanssur client, and Odoo's own flows still accept what they
  accepted (a contact saved with a number phonenumbers rejects).
- ``uninstalled``: after uninstalling depanssur: the same data intact and Odoo working (the
  partner form loads, contacts and invoices can be created and posted).

Prints one line starting with ``compat-live:`` and exits non-zero on the first problem.
"""

import sys

from odoo.fields import Command

REF = "compat-live"
PERSONS = [
    # (name, phone, country code, expected (first, last))
    ("DUPONT Jean", "06 12 34 56 78", "FR", ("Jean", "DUPONT")),
    ("Marie-Claire de La Tour", "0612345678 (soir)", "FR", ("Marie-Claire", "de La Tour")),
    ("Martin, Paul", "n/a", "FR", ("Paul", "Martin")),
    ("Madonna", "+3200000000000", "BE", ("", "Madonna")),
    ("Jean   Durand", "1234567890", "US", ("Jean", "Durand")),
    ("Anne Sophie Leroy", "+33 4 78 00 11 22", False, ("Anne Sophie", "Leroy")),
]


def fail(message):
    print(f"compat-live: FAILED ({MODE}): {message}")
    sys.exit(1)


def seed():
    Partner = env["res.partner"]
    countries = {c.code: c.id for c in env["res.country"].search([])}
    for index, (name, phone, code, _split) in enumerate(PERSONS):
        Partner.create(
            {
                "name": name,
                "phone": phone,
                "email": f"live{index}@example.com",
                "country_id": countries.get(code, False),
                "ref": f"{REF}-{index}",
            }
        )
    company = Partner.create(
        {"name": "Plomberie Lyonnaise SARL", "is_company": True, "ref": f"{REF}-company"}
    )
    Partner.create(
        {
            "name": "Luc Besson",
            "parent_id": company.id,
            "phone": "04 78 ext. 12",
            "ref": f"{REF}-child",
        }
    )
    Partner.create({"name": "Ancien Client", "active": False, "ref": f"{REF}-archived"})
    env["res.users"].create(
        {
            "name": "Portail Client",
            "login": f"{REF}-portal",
            "group_ids": [Command.set([env.ref("base.group_portal").id])],
        }
    )
    env["res.users"].create(
        {
            "name": "Agent Interne",
            "login": f"{REF}-internal",
            "group_ids": [Command.set([env.ref("base.group_user").id])],
        }
    )
    customer = Partner.search([("ref", "=", f"{REF}-0")])
    for post in (True, False):
        move = env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": customer.id,
                "invoice_date": "2026-01-15",
                "invoice_line_ids": [
                    Command.create({"name": "Dépannage", "quantity": 1, "price_unit": 120.0})
                ],
            }
        )
        if post:
            move.action_post()
    env.cr.commit()
    print(f"compat-live: seeded {Partner.search_count([('ref', '=like', REF + '-%')])} contacts")


def assets():
    ICP = env["ir.config_parameter"]
    if not ICP.get_param("depanssur_compat.assets"):
        env["ir.qweb"]._pregenerate_assets_bundles()
        ICP.set_param("depanssur_compat.assets", "1")
        env.cr.commit()
    print("compat-live: assets ready")


# --- checks (below this line: not part of the template's key in scripts/compat.sh)


def live_partners():
    return env["res.partner"].with_context(active_test=False).search([("ref", "=like", REF + "-%")])


def check_common():
    partners = {p.ref: p for p in live_partners()}
    if len(partners) != len(PERSONS) + 3:
        fail(f"{len(partners)} contacts instead of {len(PERSONS) + 3}")
    for index, (name, phone, _code, _split) in enumerate(PERSONS):
        partner = partners[f"{REF}-{index}"]
        if partner.name != name or partner.phone != phone:
            fail(f"contact {index} changed: {partner.name!r} {partner.phone!r}")
        if partner.email != f"live{index}@example.com":
            fail(f"contact {index} lost its email")
        if partner.display_name != name:
            fail(f"display name of {name!r} is now {partner.display_name!r}")
    if partners[f"{REF}-child"].phone != "04 78 ext. 12":
        fail("the child contact's phone changed")
    Users = env["res.users"].with_context(active_test=False)
    users = Users.search([("login", "=like", REF + "-%")])
    if sorted(users.mapped("name")) != ["Agent Interne", "Portail Client"]:
        fail(f"users: {users.mapped('name')}")
    moves = env["account.move"].search(
        [("partner_id", "=", partners[f"{REF}-0"].id), ("move_type", "=", "out_invoice")]
    )
    if sorted(moves.mapped("state")) != ["draft", "posted"] or any(
        m.amount_untaxed != 120.0 for m in moves
    ):
        fail(f"invoices: {moves.mapped('state')} {moves.mapped('amount_untaxed')}")
    return partners, moves


def check_installed():
    from odoo.addons.depanssur.rules.person_name import split_name

    partners, _moves = check_common()
    for index, (name, _phone, _code, expected) in enumerate(PERSONS):
        partner = partners[f"{REF}-{index}"]
        parts = (partner.first_name or "", partner.last_name or "")
        if parts != expected or parts != split_name(name):
            fail(f"{name!r} split as {parts}, expected {expected}")
        if partner.depanssur_client:
            fail(f"{name!r} became a Depanssur client")
    company = partners[f"{REF}-company"]
    if company.first_name or company.last_name:
        fail("a company got a first/last name")
    # Odoo's own flows keep accepting numbers phonenumbers rejects (portal, imports, ...)
    partner = partners[f"{REF}-3"]
    partner.write({"phone": "+3200000000000", "street": "Rue Haute 1"})
    created = env["res.partner"].create({"name": "Nouveau", "phone": "1234567890"})
    if partner.phone != "+3200000000000" or created.phone != "1234567890":
        fail("a contact's phone was rewritten")
    env.cr.rollback()
    persons = (
        env["res.partner"]
        .with_context(active_test=False)
        .search_count(
            [
                ("is_company", "=", False),
                ("type", "=", "contact"),
                ("name", "!=", False),
                ("last_name", "=", False),
            ]
        )
    )
    if persons:
        fail(f"{persons} persons without a last name")
    print(
        f"compat-live: OK ({MODE}): {len(partners)} existing contacts kept as they were, "
        "names split, nobody made a client, invoices and users intact"
    )


def check_uninstalled():
    _partners, moves = check_common()
    if "first_name" in env["res.partner"]._fields:
        fail("res.partner still has depanssur's fields")
    env["res.partner"].get_views([(False, "form"), (False, "list")])
    partner = env["res.partner"].create({"name": "Après Désinstallation", "phone": "12"})
    move = moves.filtered(lambda m: m.state == "draft")
    move.action_post()
    if move.state != "posted" or not partner:
        fail("cannot post an invoice after uninstalling")
    env.cr.rollback()
    print("compat-live: OK (uninstalled): data intact, contacts and invoices work")


{
    "seed": seed,
    "assets": assets,
    "installed": check_installed,
    "uninstalled": check_uninstalled,
}[MODE]()
