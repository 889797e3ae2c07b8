"""Widgets shared by the pages: a slider with its number box, any widget bound to a plain key,
a Plotly chart (larger in presenter mode) and the event log's download button.

Convention: a control's value lives under a plain session key, ``"<page>.<name>"`` (e.g.
``"lab.shock"``), which survives page changes and which lessons and shared links write. Its
widgets use derived keys (``"lab.shock.slider"``, ``"lab.shock.input"``) and are re-seeded
from the plain key, so whatever wrote the plain key is what the user sees. A slider pair is
re-seeded only when the plain key holds a value it was not seeded with (writing a widget's key
sends the value back to the browser as an override, and doing it on every run, or whenever
the two differ, would drop arrow-key steps pressed during a rerun), and a twin's echo of an
older value is not taken as a change (see :func:`_is_echo`).
"""

from __future__ import annotations

import re
import time
from typing import Any, Callable, Iterable, Mapping, Sequence

import streamlit as st

from ui.common.chart_text import MAX_ROWS, figure_summary, figure_table, table_html
from ui.common.export import events_csv
from ui.common.text import md
from ui.shell import presenter


STALE_SECONDS = 2.0  # a twin's echo of an older value arrives within this long of the change
RECENT = 12  # values the app wrote into a twin that an echo may still carry


def _written(widget_key: str, value: Any) -> None:
    """Remember that the app set ``widget_key`` to ``value`` (see :func:`_is_echo`)."""
    recent = list(st.session_state.get(f"{widget_key}.written", ()))[-(RECENT - 1):]
    st.session_state[f"{widget_key}.written"] = (*recent, value)
    st.session_state[f"{widget_key}.written_at"] = time.monotonic()


def _is_echo(source: str, value: Any, plain: str) -> bool:
    """A twin's change that is only its older value coming back: while the slider is dragged,
    the app writes each new value into the number box too, and a rerun the browser sent
    before it saw that write still carries the box's older value. Taken as a change, it would
    pull the slider back to where it was a few steps ago (seen in the browser under load)."""
    recent = st.session_state.get(f"{source}.written", ())
    written_at = st.session_state.get(f"{source}.written_at", 0.0)
    return (value != st.session_state.get(plain) and value in recent[:-1]
            and time.monotonic() - written_at < STALE_SECONDS)


def _sync(source: str, plain: str, twin: str | None, transform: Callable[[Any], Any] | None,
          rerun: Sequence[str] = (), then: Callable[..., None] | None = None, then_args: tuple = ()) -> None:
    value = st.session_state[source]
    if transform is not None:
        value = transform(value)
    if twin is not None and _is_echo(source, value, plain):
        st.session_state[source] = st.session_state[plain]  # keep the twins on the newer value
        return
    if twin is not None and value == st.session_state.get(plain):
        # Its twin's callback ran first in this run and wrote this value here: nothing is new.
        # Writing it back into the twin would send the twin an override, and a slider held
        # under the arrow keys would jump back to it, losing the steps pressed since.
        return
    st.session_state[plain] = value
    if twin is not None:
        st.session_state[twin] = value
        _written(twin, value)
    if then is not None:
        then(*then_args)
    if rerun:  # only these keyed fragments rerun, not the widget's own fragment or the app
        st.rerun(list(rerun))


def current_value(key: str, *, min_value: float, max_value: float, step: float, default: float) -> float:
    """The value a :func:`slider_with_input` bound to ``key`` shows on this run, before it is
    drawn (so a page can compute what goes under it): the plain key, clamped into the range."""
    kind = int if all(isinstance(v, int) for v in (min_value, max_value, step, default)) else float
    value = st.session_state.setdefault(key, default)
    value = kind(min(max(kind(value), min_value), max_value))
    st.session_state[key] = value
    return value


def slider_with_input(label: str, key: str, *, min_value: float, max_value: float, step: float,
                      default: float, format: str | None = None, help: str | None = None,
                      input_label: str | None = None, columns: tuple[int, int] = (4, 1),
                      input_width: int | None = None, input_step: float | None = None,
                      on_change: Callable[..., None] | None = None, on_change_args: tuple = ()) -> float:
    """A slider and its number-input twin for exact keyboard entry, bound to plain ``key``.

    The two sit in ``st.columns(columns)``; or, with ``input_width`` [px], in one horizontal
    container with the input that wide (one block instead of three: cheaper to redraw in a
    fragment that reruns on every step; :func:`under_track` fits HTML under its track). Returns
    the current value (clamped into the range); an integer when the range, step and default are
    all integers.
    ``on_change(*on_change_args)`` is called after either widget's change is synced.
    ``input_step``: the number box's own step, finer than the slider's where a slider's pixel
    is too coarse (a phone: its + and − then move by this).
    """
    kind = int if all(isinstance(v, int) for v in (min_value, max_value, step, default)) else float
    # The widgets' default is the current value, not their minimum: a browser that draws a
    # widget afresh sends its default back as a change (see pages/teach_room.py's shock).
    value = current_value(key, min_value=min_value, max_value=max_value, step=step, default=default)
    slider_key, input_key = f"{key}.slider", f"{key}.input"
    _seed(slider_key, value)
    _seed(input_key, value)

    def slider() -> None:
        st.slider(label, min_value=min_value, max_value=max_value, value=value, step=step, key=slider_key,
                  format=format, help=help, on_change=_sync,
                  args=(slider_key, key, input_key, None, (), on_change, on_change_args))

    def number_input(**width: Any) -> None:
        st.number_input(input_label or f"{label} (exact)", min_value=min_value, max_value=max_value, value=value,
                        step=input_step or step, key=input_key, format=_input_format(format),
                        on_change=_sync, args=(input_key, key, slider_key, None, (), on_change, on_change_args), **width)

    if input_width is not None:
        with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
            slider()
            number_input(width=input_width)
        return kind(st.session_state[key])
    left, right = st.columns(list(columns), vertical_alignment="bottom")
    with left:
        slider()
    with right:
        number_input()
    return kind(st.session_state[key])


def under_track(html: str, input_width: int) -> str:
    """``html`` as wide as the track of a :func:`slider_with_input` laid out with
    ``input_width`` [px]: it stops short of the input and the gap (1 rem) to its right."""
    return f'<div style="margin-right:calc({input_width}px + 1rem)">{html}</div>'


def _seed(widget_key: str, value: Any) -> None:
    """Set a widget's state from its plain key when the plain key holds a value the widget has
    not been seeded with yet (a link, a lesson, Reset, the twin wrote it): never merely because
    they differ, since the widget may already hold a newer value from the browser whose
    callback has not run yet, and overwriting it would undo the learner's last step."""
    seeded = f"{widget_key}.seeded"
    if widget_key not in st.session_state or (
            st.session_state.get(seeded, _UNSET) != value and st.session_state[widget_key] != value):
        st.session_state[widget_key] = value
        _written(widget_key, value)
    st.session_state[seeded] = value


_UNSET = object()


def _input_format(slider_format: str | None) -> str | None:
    # Streamlit's number_input takes printf formats only; the slider also accepts presets
    # ("percent", "dollar") that the input does not.
    if slider_format and re.fullmatch(r"%[-+ 0#]*\d*(\.\d+)?[dieEfFgGu]", slider_format):
        return slider_format
    return None


def bound_widget(widget: Callable[..., Any], label: str, key: str, default: Any, *,
                 rerun: Sequence[str] = (), **kwargs: Any) -> Any:
    """Any single widget (selectbox, toggle, radio, ...) bound to plain ``key`` the same way.
    ``rerun``: the keys of the fragments a change reruns (``st.rerun([...])`` from the
    callback), instead of the fragment the widget sits in, or the app."""
    value = st.session_state.setdefault(key, default)
    widget_key = f"{key}.widget"
    # Single widgets take no arrow-key bursts, so they are re-seeded on every run, as a
    # selectbox whose state Streamlit dropped would otherwise fall back to its first option.
    st.session_state[widget_key] = value
    widget(label, key=widget_key, on_change=_sync, args=(widget_key, key, None, None, rerun), **kwargs)
    return st.session_state[key]


CHART_CONFIG = {"displaylogo": False}


def chart(figure, *, key: str) -> None:
    """A Plotly figure across the column; in presenter mode with every font 1.5 times larger
    (Plotly sizes its text in pixels, so presenter mode's larger base font alone misses it).
    Under it, its text alternative one keystroke away: an expander named by the chart's one-line
    summary, holding its data as a table (:mod:`ui.common.chart_text`)."""
    shown = presenter.enlarge(figure) if presenter.is_on() else figure
    st.plotly_chart(shown, key=key, width="stretch", config=CHART_CONFIG)
    summary = figure_summary(figure)
    with st.expander(f"In words and as a table: {md(summary)}", icon=":material/table_view:"):
        table = figure_table(figure)
        cut = f" (the first {MAX_ROWS:,} points)" if len(table) >= MAX_ROWS else ""
        st.html(table_html(table, f"The data of the chart {summary}{cut}"))


def event_log_button(events: Iterable[Any], *, key: str, file_name: str = "events.csv",
                     label: str = "Download the event log (CSV)", extra: Mapping[str, Any] | None = None,
                     leading: Sequence[str] = ()) -> None:
    """A download button for the event log (``on_click="ignore"``: downloading does not rerun)."""
    st.download_button(label, events_csv(events, extra=extra, leading=leading), file_name=file_name, mime="text/csv",
                       icon=":material/download:", key=key, on_click="ignore",
                       help="One row per liquidation, bankruptcy or socialized loss; amounts in USDT.")
