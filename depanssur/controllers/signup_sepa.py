"""The public sign-up's "Prélèvement SEPA" answers (IBAN, holder, mandate accepted): read here,
validated and recorded by ``depanssur.signup`` (``depanssur_signup_sepa.py``)."""

from .signup import DepanssurSignup

SEPA_FIELDS = ("payment_method", "iban", "iban_holder")


class DepanssurSignupSepa(DepanssurSignup):
    def _answers(self, post):
        answers = super()._answers(post)
        for name in SEPA_FIELDS:
            answers[name] = post[name] if isinstance(post.get(name), str) else ""
        answers["sepa_accepted"] = bool(post.get("sepa_accepted"))
        return answers
