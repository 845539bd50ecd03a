from . import (
    account_move,
    depanssur_category,
    depanssur_consent,
    depanssur_coverage_mixin,
    depanssur_option,
    depanssur_plan,
    depanssur_subscription,
    depanssur_subscription_line,
    res_config_settings,
    res_partner,
)
