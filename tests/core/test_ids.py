"""Object ids: a prefix, an underscore, base-62 characters drawn at random."""

import string
from collections import Counter

from core.ids import new_id, new_secret

ALPHABET = set(string.ascii_letters + string.digits)


def test_ids_have_the_prefix_and_length():
    made = new_id("cus")
    assert made.startswith("cus_")
    assert len(made) == 4 + 24
    assert set(made[4:]) <= ALPHABET
    assert len(new_id("req", length=14)) == 4 + 14
    assert len(new_secret("sk_test")) == len("sk_test_") + 32


def test_ids_do_not_repeat_and_use_the_whole_alphabet():
    made = {new_id("x", length=12) for _ in range(5000)}
    assert len(made) == 5000
    counts = Counter(character for value in made for character in value[2:])
    assert set(counts) == ALPHABET
    # 60,000 characters over 62 symbols: about 968 each; a bias would show.
    assert min(counts.values()) > 800
    assert max(counts.values()) < 1150
