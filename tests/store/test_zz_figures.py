from tests.store.conftest import race, sorted_out

def show(label, url, results):
    ok, refused, other = sorted_out(results)
    print(f"\nFIG {url.split(':')[0]:10s} {label}: ok {len(ok)}, refused {len(refused)}, raw errors {len(other)} "
          f"{sorted({type(e).__name__ for e in other})}", flush=True)
    return ok, refused, other

def test_figures(store, url):
    room = store.open_room(capacity=60)
    show("100 joins/60 seats", url, race(100, lambda i: store.join(room.code, f"S {i}", client=f"s{i}")))
    room = store.open_room()
    names = ["Ada", "ada", "ADA", "aDa", "Ａｄａ", "ａｄａ", "ＡＤＡ", " Ada ", "AdA", "adA"]
    show("20 joins as Ada", url, race(20, lambda i: store.join(room.code, names[i % 10], client=f"s{i}")))
    seat = store.join(room.code, "Bob", client="b")
    store.ask(room.code, room.teacher_key, {"kind": "lesson", "lesson": "one-bad-trade"})
    show("20 answers one seat", url, race(20, lambda i: store.answer(room.code, seat.token, -float(i + 1))))
    print("   stored answers", store.answers(room.code, room.teacher_key).count)
    ok, refused, other = show("50 wrong codes one session", url, race(50, lambda i: store.join("ZZZZZZ", "Ada", client="one")))
    print("   looked up (not 'too many')", sum("too many" not in str(e) for e in refused))
    room = store.open_room()
    show("10 questions at once", url, race(10, lambda i: store.ask(room.code, room.teacher_key, {"kind": "lesson", "lesson": "one-bad-trade"})))
