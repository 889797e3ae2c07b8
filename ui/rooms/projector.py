"""The projector view of a classroom room, pure (no Streamlit): what the class sees on the big
screen at 1280×720, in large type, with nothing of the console's controls and nothing secret.

**Its own link.** The view opens with ``/projector?room=<code>&view=<projector token>``
(:func:`projector_url`): a read-only token the store gives the room (``RoomStore.projector_token``),
which opens the room's public screen, the class's counts (never a name) and, once revealed,
the answers; it drives nothing. The teacher key never is in it; the teacher's own way back into
the console is the *teacher link* (:func:`teacher_url`), shown on the console only on request.

**What it shows** follows the room (:func:`focus`): the join code, its QR and who has arrived
until the teacher shows an account; then the lab the class sees (or the crash replay); while a
question is open the question, its options, its countdown (the store's timer) and how many
answered, and never the engine's value or the answers' spread; at the reveal the engine's value
against the class's answers (a histogram, or the count of each option against the right one),
every round side by side; after a class-market shock, its cascade until the teacher moves on.
Every value from a user (a question, an option) is escaped: text, never HTML.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any, Mapping, Sequence
from urllib.parse import urlencode, urlsplit, urlunsplit

from classroom.records import ClassCounts, Question, RoomState, RoundComparison
from margin.numbers import money, percent, price
from ui.common.palette import BLUE, GREY
from ui.rooms.model import KEY_PARAM, ROOM_PARAM

VIEW_PARAM = "view"  # the projector token's query parameter
PROJECTOR_PAGE, TEACHER_PAGE = "projector", "teach_room"
FOCUSES = ("ended", "arrival", "question", "cascade", "replay", "lab")

PROJECTOR_CSS = """<style>
.ml-proj { font-size: 1.25rem; line-height: 1.45; }
.ml-proj h2 { font-size: 2.1rem; margin: 0.2rem 0 0.6rem 0; }
.ml-proj-code { font-family: monospace; font-weight: 700; letter-spacing: 0.4rem; font-size: clamp(2.4rem, 9vw, 5.5rem);
  line-height: 1.1; margin: 0; overflow-wrap: anywhere; }
.ml-proj-bar { display: flex; flex-wrap: wrap; gap: 0.4rem 2rem; align-items: baseline; font-size: 1.2rem;
  border-bottom: 2px solid currentColor; padding-bottom: 0.3rem; margin-bottom: 0.5rem; }
.ml-proj-bar b.ml-proj-small-code { font-family: monospace; letter-spacing: 0.2rem; font-size: 1.6rem; }
.ml-proj-link { font-family: monospace; font-size: 1.3rem; overflow-wrap: anywhere; }
.ml-proj-count { font-size: 2.4rem; font-weight: 700; }
.ml-proj-clock { font-size: 2.4rem; font-weight: 700; font-variant-numeric: tabular-nums; }
.ml-proj-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0.3rem 2.2rem; }
.ml-proj-head h2 { margin: 0; }
.ml-proj-question { font-size: 1.9rem; font-weight: 600; overflow-wrap: anywhere; }
.ml-proj-options { font-size: 1.6rem; padding-left: 0; list-style: none; }
.ml-proj-options li { margin: 0.35rem 0; overflow-wrap: anywhere; }
.ml-proj-bars { display: grid; grid-template-columns: minmax(8rem, max-content) 1fr; gap: 0.35rem 1rem;
  align-items: center; font-size: 1.3rem; }
.ml-proj-bars .ml-proj-fill { height: 1.8rem; min-width: 0.3rem; display: flex; align-items: center;
  padding-left: 0.4rem; color: #fff; font-weight: 700; box-sizing: border-box; }
.ml-proj-bars .ml-proj-right { outline: 4px solid currentColor; outline-offset: 2px;
  background-image: repeating-linear-gradient(45deg, rgba(255,255,255,.35) 0 8px, transparent 8px 16px); }
.ml-proj b { white-space: nowrap; }
[data-testid="stImageContainer"], [data-testid="stImage"] img { max-width: 100% !important; height: auto !important; }
.ml-proj table { border-collapse: collapse; font-size: 1.05rem; }
.ml-proj th, .ml-proj td { border: 1px solid currentColor; padding: 0.2rem 0.7rem; text-align: right; }
.ml-proj th:first-child, .ml-proj td:first-child { text-align: left; }
</style>"""


# ----------------------------------------------------------------------------- links


def _sibling(page_url: str, page: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(page_url)
    path = parts.path.rsplit("/", 1)[0] + "/" + page
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(dict(params)), ""))


def teacher_url(page_url: str, code: str, key: str) -> str:
    """The teacher's private way back into the console, on the host the console was served from.

    >>> teacher_url("https://lab.example/base/teach_room?room=ABC234", "ABC234", "k3y")
    'https://lab.example/base/teach_room?room=ABC234&key=k3y'
    """
    return _sibling(page_url, TEACHER_PAGE, {ROOM_PARAM: code, KEY_PARAM: key})


def projector_url(page_url: str, code: str, token: str) -> str:
    """The projector view's read-only link (the projector token, never the teacher key).

    >>> projector_url("http://127.0.0.1:8501/teach_room?room=ABC234", "ABC234", "t0k")
    'http://127.0.0.1:8501/projector?room=ABC234&view=t0k'
    """
    return _sibling(page_url, PROJECTOR_PAGE, {ROOM_PARAM: code, VIEW_PARAM: token})


# ----------------------------------------------------------------------------- what to show


def focus(state: RoomState, cascade_mark: tuple[int, int] | None) -> str:
    """What the projector shows now, one of :data:`FOCUSES`. ``cascade_mark`` is ``(cascades,
    version)`` as the view saw them when the room's count of class cascades last changed: a new
    cascade stays on screen until anything the class sees moves again (the version).

    >>> from classroom.records import RoomState
    >>> s = RoomState(code="ABC234", version=7, activity=9, mode="follow", scenario={"markets": {}}, shock=0.0,
    ...               prices={}, question=None, locked=False, closed=False, expired=False, show_names=False,
    ...               expires_at=0.0, cascades=1)
    >>> focus(s, (1, 7)), focus(s, (1, 6)), focus(s, None)
    ('cascade', 'lab', 'lab')
    """
    if state.closed or state.expired:
        return "ended"
    if state.question is not None:
        return "question"
    if state.cascades and cascade_mark is not None and cascade_mark == (state.cascades, state.version):
        return "cascade"
    if state.replay is not None:
        return "replay"
    return "lab" if state.scenario is not None else "arrival"


def countdown(closes_at: float | None, now: float) -> str:
    """A question's timer in words: minutes and seconds left (rounded up), or that time is up.

    >>> countdown(None, 0.0), countdown(100.0, 0.5), countdown(100.0, 100.0)
    ('No timer', '1:40 left', 'Time is up: answers are closed')
    """
    if closes_at is None:
        return "No timer"
    left = math.ceil(closes_at - now)
    if left <= 0:
        return "Time is up: answers are closed"
    return f"{left // 60}:{left % 60:02d} left"


def _letter(index: int) -> str:
    return chr(ord("A") + index)


# ----------------------------------------------------------------------------- HTML


def status_bar(code: str, counts: ClassCounts, *, question_open: bool) -> str:
    """The top line on every screen after the arrival: the join code and the class in counts."""
    answered = (f"<span><b>{counts.answered}</b> answered, <b>{counts.waiting}</b> not yet</span>"
                if question_open else "")
    return (f'<div class="ml-proj ml-proj-bar" data-section="status"><span>Join with code '
            f'<b class="ml-proj-small-code">{escape(code)}</b></span>'
            f"<span><b>{counts.students}</b> joined, <b>{counts.connected}</b> connected</span>{answered}</div>")


def arrival_html(code: str, link: str, counts: ClassCounts) -> str:
    """While students arrive: the join code huge, the link, and how many have joined."""
    who = "student has" if counts.students == 1 else "students have"
    return (f'<div class="ml-proj" data-section="arrival"><h2>Join the room</h2>'
            f'<p class="ml-proj-code" aria-label="Join code">{escape(code)}</p>'
            f'<p>Open <span class="ml-proj-link">{escape(link)}</span><br>or scan the code, then type a nickname.</p>'
            f'<p><span class="ml-proj-count">{counts.students}</span> {who} joined '
            f"({counts.connected} connected now).</p></div>")


def question_html(q: Question, counts: ClassCounts, now: float) -> str:
    """An open question: its text, its options, the countdown and how many answered; nothing of
    its answer (the engine's value is not even in the record until the reveal)."""
    head = f"Question {q.number}" + (f", round {q.round}" if q.round > 1 else "")
    options = ""
    if q.kind == "choice":
        options = '<ol class="ml-proj-options">' + "".join(
            f"<li><b>{_letter(i)}.</b> {escape(o)}</li>" for i, o in enumerate(q.options)) + "</ol>"
    unit = "" if q.kind == "choice" else f'<p class="ml-small">Answer in {escape(q.unit)}.</p>'
    return (f'<div class="ml-proj" data-section="question"><div class="ml-proj-head"><h2>{escape(head)}</h2>'
            f'<span class="ml-proj-clock" role="timer">{escape(countdown(q.closes_at, now))}</span>'
            f'<span><span class="ml-proj-count">{counts.answered}</span> of {counts.students} answered.</span></div>'
            f'<p class="ml-proj-question" style="font-size:{question_size(q.text)}rem">{escape(q.text)}</p>'
            f"{options}{unit}</div>")


def question_size(text: str) -> float:
    """The question's type size [rem]: large for a short question, smaller for a lesson's long
    one, so that the whole question fits a 1280×720 screen under its countdown.

    >>> question_size("Which mode?"), question_size("x" * 250), question_size("x" * 600)
    (2.0, 1.5, 1.2)
    """
    return 2.0 if len(text) <= 140 else 1.5 if len(text) <= 320 else 1.2


def choice_bars_html(q: Question, counts: Sequence[int]) -> str:
    """How many chose each option, the right one marked in words, outline and hatching (never
    by colour alone)."""
    total = max(sum(counts), 1)
    rows = []
    for i, (option, n) in enumerate(zip(q.options, counts)):
        right = q.value is not None and i == int(q.value)
        label = f"<b>{_letter(i)}.</b> {escape(option)}" + (" <b>✓ right answer</b>" if right else "")
        style = f"width:{100.0 * n / total:.1f}%;background-color:{BLUE if right else GREY}"
        rows.append(f'<div>{label}</div><div><div class="ml-proj-fill{" ml-proj-right" if right else ""}" '
                    f'style="{style}">{n}</div></div>')
    return f'<div class="ml-proj ml-proj-bars" data-section="choices">{"".join(rows)}</div>'


def reveal_head_html(q: Question, answered: int, right: int, mistakes: Sequence[tuple[str, int]] = ()) -> str:
    """The reveal's first lines: the right answer (the engine's value, or the right option) and
    how many got it."""
    if q.kind == "choice":
        said = f"The right answer: {_letter(int(q.value))}. {escape(q.options[int(q.value)])}"
        how = f"{right} of {answered} chose it."
    else:
        said = f"The engine says {escape(price(q.value))} {escape(q.unit)}"
        how = f"{right} of {answered} answers are within 1 %."
    lines = "".join(f"<li><b>{n} ×</b> {escape(words)}</li>" for words, n in mistakes)
    return (f'<div class="ml-proj" data-section="reveal"><h2>Question {q.number}</h2>'
            f'<p style="font-size:{min(question_size(q.text), 1.5) * 0.7:.2f}rem">{escape(q.text)}</p>'
            f'<p class="ml-proj-question">{said}.</p><p>{how}</p>'
            + (f"<p>Typical mistakes:</p><ul>{lines}</ul>" if lines else "") + "</div>")


def rounds_html(comparison: RoundComparison) -> str:
    """Every round of a revealed question side by side, and how many moved to the right answer."""
    q = comparison.question
    head = "".join(f"<th>Round {t.round}</th>" for t in comparison.tallies)
    rows = [("Answered", [str(t.answered) for t in comparison.tallies]),
            ("Right" if q.kind == "choice" else "Within 1 %", [str(t.right) for t in comparison.tallies])]
    if q.kind == "choice":
        rows += [(f"{_letter(i)}. {o}" + (" ✓" if q.value is not None and i == int(q.value) else ""),
                  [str(t.counts[i]) if i < len(t.counts) else "0" for t in comparison.tallies])
                 for i, o in enumerate(q.options)]
    body = "".join(f"<tr><td>{escape(name)}</td>" + "".join(f"<td>{v}</td>" for v in values) + "</tr>"
                   for name, values in rows)
    moves = "".join(f"<li>From round {m.from_round} to {m.to_round}: <b>{m.to_right}</b> moved to the right answer, "
                    f"{m.to_wrong} moved away from it, {m.stayed_right} stayed right, {m.stayed_wrong} stayed wrong.</li>"
                    for m in comparison.moves)
    return (f'<div class="ml-proj" data-section="rounds"><table><thead><tr><th></th>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>" + (f"<ul>{moves}</ul>" if moves else "") + "</div>")


def cascade_html(result: Mapping[str, Any]) -> str:
    """The class market's latest cascade in words: the shock, where the price ended, who was
    liquidated (counts only) and where the money went."""
    students = result.get("students", [])
    dead = sum(s.get("round") is not None for s in students)
    flow = result.get("accounting", {})
    amplified = result.get("amplification")
    return (f'<div class="ml-proj" data-section="cascade"><h2>The class market: a shock of '
            f'{result["shock"] * 100:+g} %</h2>'
            f'<p>The forced selling took the price to <b>{escape(price(result["final_price"]))} USDT</b>, '
            f'a move of <b>{escape(percent(result["final_drop"], signed=True))}</b>'
            + (f" ({amplified:.1f}× the shock)" if amplified else "") + ".</p>"
            f'<p><span class="ml-proj-count">{dead} of {len(students)}</span> students liquidated; '
            f'{result.get("liquidated_count", 0):,} of {result.get("traders", 0):,} traders in the crowd.</p>'
            f'<p class="ml-small">Where the money went: the insurance fund kept {escape(money(flow.get("insurance_fund_kept")))} '
            f'and paid {escape(money(flow.get("paid_by_insurance_fund")))} of deficits; socialized: '
            f'{escape(money(flow.get("socialized")))}.</p></div>')


def survival_html(rows: Sequence[Mapping[str, Any]]) -> str:
    """Who survived, by leverage and mode (``classroom.market.survival_table``), as a table."""
    if not rows:
        return ""
    body = "".join(f"<tr><td>{escape(str(r['leverage']))}</td><td>{escape(str(r['mode']))}</td>"
                   f"<td>{r['survived']} of {r['students']}</td></tr>" for r in rows)
    return (f'<div class="ml-proj" data-section="survival"><table><thead><tr><th>Leverage</th><th>Mode</th>'
            f"<th>Survived</th></tr></thead><tbody>{body}</tbody></table></div>")


def ended_html(state: RoomState) -> str:
    """A closed or expired room."""
    word = "closed" if state.closed else "expired"
    return (f'<div class="ml-proj" data-section="ended"><h2>Room {escape(state.code)} is {word}</h2>'
            "<p>Thank you for taking part.</p></div>")


__all__ = ["FOCUSES", "PROJECTOR_CSS", "PROJECTOR_PAGE", "VIEW_PARAM", "arrival_html", "cascade_html",
           "choice_bars_html", "countdown", "ended_html", "focus", "projector_url", "question_html",
           "reveal_head_html", "rounds_html", "status_bar", "survival_html", "teacher_url"]
