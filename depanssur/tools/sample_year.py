"""The script of a sample year: who signs up when, on which plan, how each client pays, moves,
changes plan, declares claims and leaves. Pure Python (no Odoo), deterministic for a seed: the
model ``depanssur.sample.year`` plays it day by day through the product's own methods.
"""

import dataclasses
import random
import unicodedata
from datetime import date, timedelta

FIRST_NAMES = (
    ("mrs", "Camille"),
    ("mrs", "Léa"),
    ("mrs", "Chloé"),
    ("mrs", "Manon"),
    ("mrs", "Inès"),
    ("mrs", "Sarah"),
    ("mrs", "Julie"),
    ("mrs", "Nathalie"),
    ("mrs", "Isabelle"),
    ("mrs", "Sylvie"),
    ("mrs", "Hélène"),
    ("mrs", "Élodie"),
    ("mr", "Thomas"),
    ("mr", "Nicolas"),
    ("mr", "Julien"),
    ("mr", "Antoine"),
    ("mr", "Maxime"),
    ("mr", "Hugo"),
    ("mr", "Louis"),
    ("mr", "Pierre"),
    ("mr", "Philippe"),
    ("mr", "François"),
    ("mr", "Jérôme"),
    ("mr", "Olivier"),
)
LAST_NAMES = (
    "Martin",
    "Bernard",
    "Thomas",
    "Petit",
    "Robert",
    "Richard",
    "Durand",
    "Dubois",
    "Moreau",
    "Laurent",
    "Simon",
    "Michel",
    "Lefebvre",
    "Leroy",
    "Roux",
    "David",
    "Bertrand",
    "Morel",
    "Fournier",
    "Girard",
    "Bonnet",
    "Dupont",
    "Lambert",
    "Fontaine",
    "Rousseau",
    "Vincent",
    "Muller",
    "Faure",
    "André",
    "Mercier",
)
CITIES = (
    ("69002", "Lyon"),
    ("69003", "Lyon"),
    ("69100", "Villeurbanne"),
    ("75011", "Paris"),
    ("75015", "Paris"),
    ("13006", "Marseille"),
    ("31000", "Toulouse"),
    ("33000", "Bordeaux"),
    ("44000", "Nantes"),
    ("59000", "Lille"),
    ("67000", "Strasbourg"),
    ("35000", "Rennes"),
    ("38000", "Grenoble"),
    ("34000", "Montpellier"),
)
STREETS = (
    "rue de la République",
    "avenue Jean Jaurès",
    "rue Victor Hugo",
    "boulevard Gambetta",
    "rue Pasteur",
    "place du Marché",
    "rue des Lilas",
    "avenue de la Gare",
    "rue du Moulin",
    "chemin des Vignes",
)
TERMINATION_REASONS = (
    ("client_request", 60),
    ("moving_abroad", 15),
    ("other", 15),
    ("death", 5),
    ("duplicate", 5),
)
# how a late payer settles an invoice: days after its due date (after the D+3 retry, the D+7
# retry, the D+15 suspension)
LATE_DAYS = (5, 10, 20)


@dataclasses.dataclass
class Claim:
    """A claim file: declared on ``day``; ``outcome`` says how far its workflow goes."""

    day: date
    category: int  # index in the categories, by their order
    cost: float
    outcome: str  # "closed", "done", "scheduled", "qualified", "declared", "cancelled",
    # "refused"
    nps: int | None  # the satisfaction answer, when the client answers
    channel: str
    covered: bool = False  # told to show a state: declared in a category the plan covers


@dataclasses.dataclass
class ClientScript:
    index: int
    civility: str
    first_name: str
    last_name: str
    email: str
    mobile: str
    street: str
    zip: str
    city: str
    signup_day: date
    channel: str  # "web_form" | "phone"
    billing_period: str
    plan: int  # index in the plans, cheapest first
    option: bool
    payer: str  # "good" | "late" | "bad"
    stop_paying_after: int  # a bad payer pays this many invoices, then none
    upgrade_day: date | None = None
    downgrade_day: date | None = None
    move_day: date | None = None
    termination_day: date | None = None
    termination_reason: str | None = None
    claims: list = dataclasses.field(default_factory=list)

    def payment_delay(self, rng, invoice_number):
        """Days between an invoice's due date and its payment; ``None``: never paid."""
        if self.payer == "bad" and invoice_number > self.stop_paying_after:
            return None
        # a late payer's second invoice is always late: each book has late payments
        if self.payer == "late" and (invoice_number == 2 or rng.random() < 0.45):
            return rng.choice(LATE_DAYS)
        return 0


def _ascii(text):
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _weighted(rng, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


def _claims(rng, start, end, today, categories):
    """About one claim per client and year, from the sign-up on (the first ones may fall in the
    waiting period: refused, as in real life)."""
    claims = []
    day = start + timedelta(days=int(rng.expovariate(1 / 300)) + 5)
    while day < min(end, today):
        age = (today - day).days
        if age > 30:
            outcome = _weighted(rng, (("closed", 85), ("done", 5), ("cancelled", 10)))
        elif age > 10:
            outcome = _weighted(rng, (("done", 70), ("scheduled", 15), ("cancelled", 15)))
        elif age > 3:
            outcome = _weighted(rng, (("scheduled", 60), ("qualified", 40)))
        else:
            outcome = _weighted(rng, (("declared", 50), ("qualified", 50)))
        nps = None
        if outcome in ("closed", "done") and rng.random() < 0.7:
            nps = _weighted(
                rng, ((10, 25), (9, 25), (8, 15), (7, 10), (6, 8), (5, 6), (3, 6), (1, 5))
            )
        claims.append(
            Claim(
                day=day,
                category=rng.randrange(categories),
                cost=round(rng.uniform(80, 650), 2),
                outcome=outcome,
                nps=nps,
                channel=_weighted(rng, (("phone", 70), ("web", 20), ("app", 10))),
            )
        )
        day += timedelta(days=int(rng.expovariate(1 / 330)) + 7)
    return claims


def build_scripts(seed, clients, months, today, plans=3, categories=5):
    """The scripts of ``clients`` clients signing up over the ``months`` months before
    ``today`` (a growing book: more sign-ups lately), deterministic for ``seed``."""
    rng = random.Random(seed)
    mobile_base = rng.randrange(10**8)
    start = today - timedelta(days=round(months * 30.44))
    span = (today - start).days
    scripts = []
    for index in range(clients):
        civility, first_name = rng.choice(FIRST_NAMES)
        last_name = rng.choice(LAST_NAMES)
        zip_code, city = rng.choice(CITIES)
        # a linearly growing density of sign-ups; the last week left for the first invoices
        signup_day = start + timedelta(days=int((span - 7) * rng.random() ** 0.75))
        channel = "web_form" if rng.random() < 0.55 else "phone"
        billing_period = "yearly" if channel == "phone" and rng.random() < 0.2 else "monthly"
        payer = _weighted(rng, (("good", 80), ("late", 13), ("bad", 7)))
        script = ClientScript(
            index=index,
            civility=civility,
            first_name=first_name,
            last_name=last_name,
            email=_ascii(f"{first_name}.{last_name}.{index + 1}@example.com"),
            mobile=f"06 {(mobile_base + index * 7919) % 10**8:08d}",
            street=f"{rng.randrange(1, 120)} {rng.choice(STREETS)}",
            zip=zip_code,
            city=city,
            signup_day=signup_day,
            channel=channel,
            billing_period=billing_period,
            plan=_weighted(rng, ((0, 45), (1, 35), (2, 20)))
            if plans >= 3
            else rng.randrange(plans),
            option=rng.random() < 0.25,
            payer=payer,
            stop_paying_after=rng.randrange(1, 7),
        )
        # about 1.5 % of the book leaves each month
        stay = int(rng.expovariate(1 / 950)) + 20
        if signup_day + timedelta(days=stay) < today - timedelta(days=2):
            script.termination_day = signup_day + timedelta(days=stay)
            script.termination_reason = _weighted(rng, TERMINATION_REASONS)
        end = script.termination_day or today
        if billing_period == "monthly":
            if script.plan < plans - 1 and rng.random() < 0.15:
                script.upgrade_day = signup_day + timedelta(days=rng.randrange(45, 330))
            elif script.plan > 0 and rng.random() < 0.1:
                script.downgrade_day = signup_day + timedelta(days=rng.randrange(45, 330))
        if rng.random() < 0.1:
            script.move_day = signup_day + timedelta(days=rng.randrange(40, 400))
        for attr in ("upgrade_day", "downgrade_day", "move_day"):
            if getattr(script, attr) and getattr(script, attr) >= min(end, today):
                setattr(script, attr, None)
        script.claims = _claims(rng, signup_day, end, today, categories)
        scripts.append(script)
    _cover_every_story(scripts, today, plans)
    _cover_every_state(scripts, today, categories)
    return start, scripts


def _cover_every_story(scripts, today, plans):
    """Make sure a small book (a test's) still tells every story: a late payer, a client who
    stops paying (the whole dunning ladder: reminders, suspension, termination for
    non-payment), an upgrade, a downgrade, a move and a voluntary termination. Taken from the
    clients in the book for five months or more, the most recent first (the longest-standing
    good payers tell the claim files, see ``_cover_every_state``)."""
    old_enough = today - timedelta(days=150)
    candidates = sorted(
        (s for s in scripts if s.signup_day <= old_enough and not s.termination_day),
        key=lambda s: (s.signup_day, s.index),
        reverse=True,
    )
    settled = [s for s in candidates if s.payer == "good"]
    if not settled:
        return

    def take(condition=lambda s: True):
        for script in settled:
            if condition(script):
                settled.remove(script)
                return script
        return None

    if not any(s.payer == "late" for s in candidates) and (script := take()):
        script.payer = "late"
    if not any(s.payer == "bad" for s in candidates) and (script := take()):
        script.payer, script.stop_paying_after = "bad", 2

    def monthly(script):
        return script.billing_period == "monthly" and not (
            script.upgrade_day or script.downgrade_day
        )

    if (
        not any(s.upgrade_day for s in scripts)
        and plans > 1
        and (script := take(lambda s: monthly(s) and s.plan < plans - 1))
    ):
        script.upgrade_day = script.signup_day + timedelta(days=60)
    if (
        not any(s.downgrade_day for s in scripts)
        and plans > 1
        and (script := take(lambda s: monthly(s) and s.plan > 0))
    ):
        script.downgrade_day = script.signup_day + timedelta(days=75)
    if not any(s.move_day for s in scripts) and (script := take()):
        script.move_day = script.signup_day + timedelta(days=90)
    voluntary = [s for s in scripts if s.termination_reason]
    if not voluntary and (script := take()):
        script.termination_day = today - timedelta(days=20)
        script.termination_reason = "client_request"
        script.claims = [claim for claim in script.claims if claim.day < script.termination_day]


# a recent claim file in each state of the workflow, whatever the size of the book
EVERY_STATE = (
    ("declared", 1),
    ("qualified", 2),
    ("scheduled", 4),
    ("done", 12),
    ("cancelled", 15),
    ("refused", 20),
    ("closed", 45),
)


def _cover_every_state(scripts, today, categories):
    """Give the longest-standing clients still in the book one more claim file each, in the
    states the random book might miss (a small book for a test)."""
    staying = sorted(
        (s for s in scripts if not s.termination_day and s.payer == "good"),
        key=lambda s: (s.signup_day, s.index),
    )
    for script, (outcome, age) in zip(staying, EVERY_STATE, strict=False):
        day = today - timedelta(days=age)
        if day <= script.signup_day + timedelta(days=60):
            continue
        script.claims.append(
            Claim(
                day=day,
                category=script.index % categories,
                cost=180.0,
                outcome=outcome,
                # a promoter and a detractor (who gets a commercial gesture)
                nps={"closed": 9, "done": 3}.get(outcome),
                channel="phone",
                covered=True,
            )
        )
        script.claims.sort(key=lambda claim: claim.day)
