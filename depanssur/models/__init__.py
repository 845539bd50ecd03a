from . import depanssur_consent, res_config_settings, res_partner
