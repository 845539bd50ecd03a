"""Pure tests of the full name / first and last name split (depanssur.rules.person_name)."""

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from depanssur.rules.person_name import join_name, normalize_spaces, split_name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Jean Dupont", ("Jean", "Dupont")),
        ("  Jean   Dupont ", ("Jean", "Dupont")),
        ("Marie Claire Dupont", ("Marie Claire", "Dupont")),
        ("Jean-Pierre Dupont", ("Jean-Pierre", "Dupont")),
        ("Jean de La Fontaine", ("Jean", "de La Fontaine")),
        ("Anne-Sophie Le Gall", ("Anne-Sophie", "Le Gall")),
        ("Charles d'Artagnan", ("Charles", "d'Artagnan")),
        ("Ludwig van Beethoven", ("Ludwig", "van Beethoven")),
        ("DUPONT Jean", ("Jean", "DUPONT")),
        ("DE LA FONTAINE Jean-Pierre", ("Jean-Pierre", "DE LA FONTAINE")),
        ("Jean-Pierre DE LA FONTAINE", ("Jean-Pierre", "DE LA FONTAINE")),
        ("JEAN DUPONT", ("JEAN", "DUPONT")),
        ("Dupont, Jean", ("Jean", "Dupont")),
        ("Madonna", ("", "Madonna")),
        ("", ("", "")),
        (False, ("", "")),
        ("   ", ("", "")),
    ],
)
def test_examples(name, expected):
    assert split_name(name) == expected


def test_previous_parts_are_kept_when_they_still_spell_the_name():
    assert split_name("Jean Pierre Dupont", ("Jean Pierre", "Dupont")) == ("Jean Pierre", "Dupont")
    assert split_name("Jean Pierre Dupont", ("Jean", "Pierre Dupont")) == ("Jean", "Pierre Dupont")
    # one part changed, the other one kept
    assert split_name("Jean Pierre Martin", ("Jean Pierre", "Dupont")) == ("Jean Pierre", "Martin")
    assert split_name("Paul Dupont", ("Jean Pierre", "Dupont")) == ("Paul", "Dupont")
    # nothing in common: split afresh
    assert split_name("Claire Martin", ("Jean", "Dupont")) == ("Claire", "Martin")


def test_join():
    assert join_name("Jean", "Dupont") == "Jean Dupont"
    assert join_name(" Jean ", False) == "Jean"
    assert join_name(None, "Dupont") == "Dupont"
    assert join_name("", "") == ""
    assert normalize_spaces(" a \t b ") == "a b"


WORD = st.text(
    alphabet=st.characters(categories=("Lu", "Ll"), include_characters="-'’,."),
    min_size=1,
    max_size=12,
)
NAMES = st.lists(WORD, min_size=0, max_size=6).map(" ".join)


@given(NAMES)
def test_nothing_is_lost(name):
    first, last = split_name(name)
    words = Counter(w for w in normalize_spaces(name).replace(",", " , ").split() if w != ",")
    parts = Counter(w for w in f"{first} {last}".replace(",", " , ").split() if w != ",")
    assert parts == words
    if normalize_spaces(name):
        assert last, "a non-empty name always has a last name"


@given(NAMES, st.tuples(NAMES, NAMES))
def test_split_is_stable(name, previous):
    once = split_name(name, previous)
    # splitting the same name again with the parts found keeps them
    assert split_name(name, once) == once
    if once[0] or once[1]:
        assert split_name(join_name(*once), once) == once
