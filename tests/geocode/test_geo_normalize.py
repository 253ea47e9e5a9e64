"""Normaliser: folding, Latin transliteration, type words, house numbers, hints, intersections."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qauipsiz.hotspot.geocode.letters import (
    KAZAKH_ALPHABET,
    LATIN_2021_LETTERS,
    fold,
    fold_text,
    from_latin,
    to_latin,
)
from qauipsiz.hotspot.geocode.lexicon import stem
from qauipsiz.hotspot.geocode.normalize import name_key, normalize_address, parse_address

DISTRICTS = {("есил",): "esil", ("сарыарк",): "saryarka", ("алматы",): "almaty"}
CITIES = frozenset({"астана", "нур султан"})


def test_keyboard_folding_matches_domain_table():
    # DOMAIN.md §3: қ→к, ұ/ү→у, ө→о, ә→а, і→и, ғ→г, ң→н, һ→х
    assert fold("ҚҰҮӨӘІҒҢҺ") == "кууоаигнх"
    assert fold("Ёлка") == "елка"
    assert fold_text("Қабанбай батыр") == fold_text("Кабанбай батыр")


def test_latin_2021_examples():
    assert to_latin("Қазақстан") == "qazaqstan"
    assert to_latin("Бұрыңғы өткен") == "būryñğy ötken"
    assert to_latin("шаһар") == "şahar"
    assert fold_text("Qabanbai batyr") == fold_text("Қабанбай батыр")
    assert fold_text("Sarıarqa") == fold_text("Сарыарқа").replace("ы", "и")  # ı is і, folds to и


@pytest.mark.parametrize("text,street,kind,house,flat", [
    ("г. Астана, пр. Кабанбай батыра, д. 10/2, кв. 7", ["кабанб", "батыр"], "avenue", "10/2", "7"),
    ("Қабанбай батыр даңғылы, 15а үй", ["кабанб", "батыр"], "avenue", "15а", None),
    ("Кабанбай батыр дангылы 15 а", ["кабанб", "батыр"], "avenue", "15а", None),
    ("Есіл ауданы, Сығанақ к-сі, 5 үй, 7 пәтер", ["сыганак"], "street", "5", "7"),
    ("ул. Михаила Лермонтова, д.5/1", ["михаил", "лермонтов"], "street", "5/1", None),
    ("мкр. Самал 2, дом 3", ["самал", "2"], "microdistrict", "3", None),
    ("ул. 101-я, д. 5", ["101"], "street", "5", None),
    ("улица Е 522", ["е522"], "street", None, None),
    ("SARYARQA DANĞYLY, 5 ÜI", ["сарыарк"], "avenue", "5", None),
    ("переулок Юрия Гагарина 7", ["иур", "гагарин"], "lane", "7", None),
    ("ул. Абая, д. 12Б, корп. 2", ["аба"], "street", "12б", None),
])
def test_parse_street_house_flat(text, street, kind, house, flat):
    p = parse_address(text, DISTRICTS, CITIES)
    assert p.street == street
    assert p.street_kind == kind
    assert p.house == house
    assert p.flat == flat


def test_city_and_district_prefixes_become_hints():
    p = parse_address("р-н Есиль, г. Астана, ул. Сыганак, 5", DISTRICTS, CITIES)
    assert p.district == "esil" and p.city and p.street == ["сыганак"] and p.house == "5"
    p = parse_address("Сарыарқа ауданы, Астана қ., Бейбітшілік көшесі", DISTRICTS, CITIES)
    assert p.district == "saryarka" and p.city and p.street == [stem(fold("бейбітшілік"))]
    p = parse_address("р-н Есиь, ул. Сыганак", DISTRICTS, CITIES)  # mistyped district
    assert p.district == "esil"


@pytest.mark.parametrize("text", [
    "пересечение ул. Кенесары и пр. Абая",
    "угол Кенесары и Абая",
    "Кенесары / Абая",
    "Кенесары көшесі мен Абай даңғылы қиылысы",
    "ППЕРЕСЕЧЕНИЕ УЛ. КЕНЕСАРЫ И ПР. АБАЯ",
])
def test_intersections(text):
    p = parse_address(text, DISTRICTS, CITIES)
    assert p.is_intersection
    assert p.street == ["кенесар"] and p.cross == ["аба"]


def test_landmark():
    p = parse_address("ТРЦ Хан Шатыр", DISTRICTS, CITIES)
    assert p.landmark == ["хан", "шатыр"] and not p.street


def test_genitive_and_nominative_share_a_key():
    assert name_key("пр. Кабанбай батыра") == name_key("Қабанбай батыр даңғылы")
    assert name_key("проспект Бауыржана Момышулы") == name_key("Бауыржан Момышұлы даңғылы")
    assert name_key("улица Жамбыла Жабаева") == name_key("Жамбыл Жабаев көшесі")
    assert name_key("Абылай хана") == name_key("Абылай хан")


def test_swapped_word_order_same_key():
    assert name_key("Батыр Кабанбай") == name_key("Кабанбай батыр")


# ---------------------------------------------------------------- property tests (hypothesis)
ADDRESS_ALPHABET = (KAZAKH_ALPHABET + KAZAKH_ALPHABET.upper() + "abcdefghijklmnopqrstuvwxyzäöüūğñşı"
                    + "0123456789 ,./-№")
WORDS = ["ул.", "улица", "көшесі", "к-сі", "пр.", "даңғылы", "мкр", "д.", "үй", "кв.", "пәтер", "г. Астана",
         "р-н", "пересечение", "и", "мен", "қиылысы", "угол", "/", ",", "Кабанбай", "батыра", "Абая", "Сарыарқа",
         "Qabanbai", "10а/2", "5", "Е-522", "101-я", "ТРЦ", "корп.", "№3"]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=ADDRESS_ALPHABET, max_size=60))
def test_normalize_idempotent_random_text(s):
    once = normalize_address(s)
    assert normalize_address(once) == once


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=10).map(" ".join))
def test_normalize_idempotent_address_like(s):
    once = normalize_address(s)
    assert normalize_address(once) == once


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=ADDRESS_ALPHABET, max_size=40))
def test_fold_text_idempotent(s):
    assert fold_text(fold_text(s)) == fold_text(s)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=KAZAKH_ALPHABET.replace("ё", "") + KAZAKH_ALPHABET.upper().replace("Ё", "") + " -0123", max_size=40))
def test_folding_round_trip_cyrillic_latin(s):
    # Cyrillic → 2021 Latin → Cyrillic gives the same text up to keyboard folding
    # (х/һ → h, и/й → i and і → ı → і collapse; ё is excluded: the 2021 alphabet writes it "io").
    assert fold(from_latin(to_latin(s), strict=True)) == fold(s)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=LATIN_2021_LETTERS + " -0123", max_size=40))
def test_latin_round_trip_exact(t):
    # every 2021 Latin letter has one Cyrillic letter: Latin → Cyrillic → Latin is the identity
    assert to_latin(from_latin(t, strict=True)) == t


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="абвгдежзиклмнопрстуфхшыэ", min_size=1, max_size=12))
def test_stem_idempotent(t):
    assert stem(stem(t)) == stem(t)
