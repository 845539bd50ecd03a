"""A person's full name and its first / last name parts.

Depanssur keeps a client's first and last name beside Odoo's ``name`` (the full name every other
module reads and writes). ``name`` stays the reference: the parts are derived from it, and only
Depanssur's own forms write the parts (then the full name is rebuilt from them).

Splitting a full name, for contacts that never had parts (an existing database) or whose full name
was changed by another module:

- the previous parts are kept when they still spell the name, and a kept first or last name
  survives a change of the other part ("Jean Dupont" → "Jean Dupont-Martin" keeps "Jean");
- "Dupont, Jean" (one comma): last name before it, first name after it;
- a run of words in capitals at either end is the last name, as French forms write it
  ("DUPONT Jean", "Jean-Pierre DE LA FONTAINE"), when the rest is not in capitals;
- otherwise the last name starts at the first nobiliary particle after the first word
  ("Jean de La Fontaine", "Charles d'Artagnan", "Ludwig van Beethoven"), else it is the last word.

Nothing is lost: the words of both parts, joined by a space, are the words of the name (only the
order changes for "DUPONT Jean" and "Dupont, Jean"); a one-word name is a last name.

API: ``split_name(name, previous=("", "")) -> (first, last)``, ``join_name(first, last) -> str``,
``normalize_spaces(text) -> str``.
"""

__all__ = ["join_name", "normalize_spaces", "split_name"]

PARTICLES = frozenset(
    {
        "de",
        "du",
        "des",
        "del",
        "della",
        "der",
        "den",
        "di",
        "da",
        "dos",
        "das",
        "le",
        "la",
        "van",
        "von",
        "ten",
        "ter",
        "ben",
        "ibn",
        "bin",
        "al",
        "el",
    }
)
APOSTROPHES = ("'", "\u2019")


def normalize_spaces(text):
    """``"  Jean   Dupont "`` → ``"Jean Dupont"`` (``None``/``False`` → ``""``)."""
    return " ".join((text or "").split())


def join_name(first, last):
    """The full name built from its parts: ``join_name("Jean", "Dupont")`` → ``"Jean Dupont"``."""
    return " ".join(part for part in (normalize_spaces(first), normalize_spaces(last)) if part)


def _is_capitals(word):
    letters = [c for c in word if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


def _is_particle(word):
    lowered = word.lower()
    if lowered in PARTICLES:
        return True
    # d'Artagnan, D'Alembert
    return len(lowered) > 2 and lowered[0] == "d" and lowered[1] in APOSTROPHES


def _split_words(words):
    if len(words) == 1:
        return "", words[0]
    capitals = [_is_capitals(word) for word in words]
    if not all(capitals):
        # a run of capitals at the end: "Jean-Pierre DE LA FONTAINE"
        end = len(words)
        while end > 0 and capitals[end - 1]:
            end -= 1
        if end < len(words) and end > 0:
            return " ".join(words[:end]), " ".join(words[end:])
        # a run of capitals at the start: "DUPONT Jean"
        start = 0
        while start < len(words) and capitals[start]:
            start += 1
        if 0 < start < len(words):
            return " ".join(words[start:]), " ".join(words[:start])
    for index in range(1, len(words) - 1):
        if _is_particle(words[index]):
            return " ".join(words[:index]), " ".join(words[index:])
    return " ".join(words[:-1]), words[-1]


def split_name(name, previous=("", "")):
    """``(first, last)`` for the full ``name``; ``previous`` are the parts known so far."""
    full = normalize_spaces(name)
    if not full:
        return "", ""
    first, last = (normalize_spaces(part) for part in previous)
    if (first or last) and join_name(first, last) == full:
        return first, last
    if last and full.endswith(" " + last):
        return full[: -len(last) - 1], last
    if first and full.startswith(first + " "):
        return first, full[len(first) + 1 :]
    if full.count(",") == 1:
        before, after = (normalize_spaces(part) for part in full.split(","))
        if before and after:
            return after, before
    return _split_words(full.split(" "))
