from . import (
    account_move,
    depanssur_abstract_notify,  # the notification mixin, before the models using it
    depanssur_abstract_workflow,
    depanssur_category,
    depanssur_consent,
    depanssur_coverage_mixin,
    depanssur_credit_note,
    depanssur_dossier,
    depanssur_dunning,
    depanssur_job_run,
    depanssur_jobs,
    depanssur_kpi,
    depanssur_option,
    depanssur_plan,
    depanssur_subscription,
    depanssur_subscription_line,
    depanssur_webhook_event,
    depanssur_webhook_secret,
    res_company,
    res_config_settings,
    res_partner,
    res_partner_privacy,  # after res_partner: wraps its erasure
)
