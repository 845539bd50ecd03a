{
    "name": "Depanssur",
    "version": "19.0.1.0.0",
    "category": "Services/Subscriptions",
    "summary": "Back-office CRM for home-emergency repair subscriptions: clients, "
    "subscriptions, claim files, webhooks, credit notes, dunning, KPIs",
    "author": "Depanssur",
    "website": "https://www.depanssur.fr",
    "license": "LGPL-3",
    "development_status": "Beta",
    "application": True,
    "depends": [
        "mail",
        "contacts",
        "phone_validation",
        "sms",
        "account",
        "portal",
        "payment",
    ],
    "external_dependencies": {
        "python": ["phonenumbers", "reportlab", "requests", "jsonschema"],
    },
    "data": [
        "security/depanssur_security.xml",
        "security/ir.model.access.csv",
        "views/depanssur_consent_views.xml",
        "views/res_partner_views.xml",
        "views/res_config_settings_views.xml",
        "views/menus.xml",
    ],
    "demo": [
        "demo/res_partner_demo.xml",
    ],
    "installable": True,
}
