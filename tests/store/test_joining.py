"""Who may join, and from where: one name per room whatever its case, width or lookalike letters;
a nickname mixing scripts refused naming the field; the address a forwarded header may claim only
as far as a trusted proxy wrote it; and failed joins counted per browser session first, per
address far higher, so one student's typos never refuse a classmate."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classroom import RoomError, client_address
from classroom.codes import check_nickname, nickname_key
from classroom.limits import MAX_FAILED_JOINS_PER_ADDRESS, MAX_FAILED_JOINS_PER_SESSION, trusted_proxies


# ----------------------------------------------------------------------------- names


@pytest.mark.parametrize("a, b", [("Ada", "ada"), ("Ada", "ＡＤＡ"), ("Ada L.", "ada  l."), ("Straße", "STRASSE"),
                                  ("Ace", "Асе"), ("Kota", "ΚΟΤΑ"), ("ﬁona", "Fiona"), ("Kai", "ＫＡＩ")])
def test_one_name_in_its_variants_has_one_key(a, b):
    assert nickname_key(check_nickname(a)) == nickname_key(check_nickname(b))


@pytest.mark.parametrize("a, b", [("Ada", "Adam"), ("Ana", "Anna"), ("Lea", "Léa"), ("Bo", "Bo 2")])
def test_different_names_keep_different_keys(a, b):
    assert nickname_key(a) != nickname_key(b)


@pytest.mark.parametrize("name", ["Аda", "Pаypal", "Ivan Иван", "Αlex", "Mаrия"])
def test_a_nickname_mixing_scripts_is_refused_naming_the_field(name):
    with pytest.raises(RoomError) as caught:
        check_nickname(name)
    assert caught.value.field == "nickname" and "use one script" in str(caught.value)


@pytest.mark.parametrize("name", ["Иван", "Ελένη", "山田花子", "やまだ Yui", "김민준", "Ngọc Anh", "O'Neil-Smith Jr."])
def test_one_script_and_the_east_asian_mixes_are_welcome(name):
    assert check_nickname(name) == name


def test_a_room_refuses_the_variants_of_a_name_taken(store):
    room = store.open_room()
    store.join(room.code, "Ace", session="a")
    for i, variant in enumerate(["ace", "ＡＣＥ", "Асе", " ACE "]):
        with pytest.raises(RoomError, match="taken") as caught:
            store.join(room.code, variant, session=f"b{i}")
        assert caught.value.field == "nickname"
    with pytest.raises(RoomError, match="one script"):
        store.join(room.code, "Аce", session="c")


# ----------------------------------------------------------------------------- addresses


def test_a_forwarded_address_is_believed_only_from_a_trusted_proxy():
    assert client_address("198.51.100.7", "6.6.6.6", "") == "198.51.100.7"  # reached directly: the header is ignored
    assert client_address("198.51.100.7", "6.6.6.6", "127.0.0.1") == "198.51.100.7"  # the peer is no proxy of ours
    assert client_address("127.0.0.1", "6.6.6.6, 198.51.100.7", "127.0.0.1") == "198.51.100.7"  # nginx's own hop
    assert client_address("127.0.0.1", "6.6.6.6, 10.1.2.3, 198.51.100.7", "127.0.0.1,198.51.100.0/24") == "10.1.2.3"
    assert client_address("127.0.0.1", "", "127.0.0.1") == "127.0.0.1"
    assert client_address("::ffff:127.0.0.1", "203.0.113.5:4431", "127.0.0.1") == "203.0.113.5"
    assert client_address(None, "6.6.6.6", "127.0.0.1") == "unknown"
    assert [str(n) for n in trusted_proxies("::1, 10.0.0.0/8, nonsense, ")] == ["::1/128", "10.0.0.0/8"]


def test_the_environment_names_the_trusted_proxies(monkeypatch):
    monkeypatch.delenv("MARGIN_LAB_TRUSTED_PROXIES", raising=False)
    assert client_address("127.0.0.1", "6.6.6.6") == "127.0.0.1"
    monkeypatch.setenv("MARGIN_LAB_TRUSTED_PROXIES", "127.0.0.1")
    assert client_address("127.0.0.1", "6.6.6.6") == "6.6.6.6"


addresses = st.builds(lambda n: str(ipaddress.IPv4Address(n)), st.integers(0x0B000000, 0xDF000000))
forged = st.lists(st.one_of(addresses, st.text(alphabet="0123456789.:abcdef[] ", max_size=20)), max_size=5)


@given(client=addresses, written=forged)
@settings(max_examples=200, deadline=None)
def test_whatever_the_client_writes_the_address_is_the_one_nginx_saw(client, written):
    header = ", ".join([*written, client])  # nginx appends the peer it saw to what the client sent
    assert client_address("127.0.0.1", header, "127.0.0.1") == client
    assert client_address(client, ", ".join(written), "127.0.0.1") == client  # no proxy in front: the peer


# ----------------------------------------------------------------------------- failed joins


def wrong_code(room_code: str) -> str:
    return "ZZZZZZ" if room_code != "ZZZZZZ" else "YYYYYY"


def test_one_students_typos_never_refuse_a_classmate_at_the_same_address(store):
    room = store.open_room()
    for _ in range(MAX_FAILED_JOINS_PER_SESSION + 2):
        with pytest.raises(RoomError):
            store.join(wrong_code(room.code), "Ada", session="typist", address="192.0.2.1")
    with pytest.raises(RoomError, match="too many wrong tries from this browser"):
        store.join(room.code, "Ada", session="typist", address="192.0.2.1")
    assert store.join(room.code, "Bob", session="classmate", address="192.0.2.1").nickname == "Bob"


def test_a_guesser_changing_sessions_meets_the_address_limit(store, clock):
    room = store.open_room()
    for i in range(MAX_FAILED_JOINS_PER_ADDRESS):
        with pytest.raises(RoomError, match="no room has the code"):
            store.join(wrong_code(room.code), "Ada", session=f"fresh-{i}", address="203.0.113.66")
    with pytest.raises(RoomError, match="too many wrong tries from your network") as caught:
        store.join(room.code, "Ada", session="fresh-last", address="203.0.113.66")
    assert caught.value.field == "code"
    assert store.join(room.code, "Ada", session="elsewhere", address="198.51.100.1").nickname == "Ada"
    clock.now += 61  # a new minute
    assert store.join(room.code, "Bob", session="fresh-last", address="203.0.113.66").nickname == "Bob"


def test_a_class_of_300_with_typos_never_meets_the_address_limit(store):
    room = store.open_room(capacity=300)
    for i in range(300):
        if i % 5 == 0:  # one in five mistypes the code first
            with pytest.raises(RoomError, match="no room"):
                store.join(wrong_code(room.code), f"S{i}", session=f"tab-{i}", address="192.0.2.1")
        store.join(room.code.lower(), f"S{i}", session=f"tab-{i}", address="192.0.2.1")
    assert len(store.participants(room.code, room.teacher_key)) == 300


def test_right_codes_and_other_refusals_are_not_counted_as_guesses(store):
    room = store.open_room(capacity=1)
    store.join(room.code, "Ada", session="s", address="192.0.2.1")
    for _ in range(MAX_FAILED_JOINS_PER_SESSION + 1):
        with pytest.raises(RoomError) as caught:  # full, or a bad nickname: not a guess at the code
            store.join(room.code, "<b>", session="s2", address="192.0.2.1")
        assert caught.value.field == "nickname"
    with pytest.raises(RoomError, match="full"):
        store.join(room.code, "Bob", session="s2", address="192.0.2.1")
