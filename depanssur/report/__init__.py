from . import depanssur_report_dossier, depanssur_report_premium
