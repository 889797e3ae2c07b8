"""Reading the formulas the glossary and the lessons print, so a test can evaluate them.

The glossary prints LaTeX (``st.latex``); :func:`latex_to_python` translates the small subset it
uses into a Python expression, clause by clause (clauses are separated by ``,\\quad``):
``\\text{cross wallet}`` is the name ``cross_wallet``, a ``\\text`` subscript extends a name
(``\\text{mmr}_{\\text{tier}}`` is ``mmr_tier``), any other subscript indexes (``\\text{cum}_{n-1}``
is ``cum[n-1]``, ``\\text{loss}_{(k)}`` is ``loss[(k)]``), ``\\frac{a}{b}`` divides,
``\\sum_{\\text{cross}} x`` is ``sum_cross(x)``, ``\\sum_{j=1}^{k} x`` sums ``x`` over ``j``,
``\\lceil x \\rceil`` is ``ceil(x)``, ``1\\,\\%`` is 1/100, ``=`` compares, ``\\le`` too, and
``x = \\pm 1`` says ``abs(x) == 1``. Anything else is refused, so a formula the test cannot read
fails the test rather than passing unread.

A lesson prints plain arithmetic with the account's numbers (``0.30 − (240.00 − 120.00) /
40,000``): :func:`arithmetic_to_python` reads it (thousands separators, ``−``, ``×``, ``÷``).
:func:`evaluate` runs either with the names it is given, exactly for the printed numbers
(fractions), nothing else in reach.
"""

from __future__ import annotations

import ast
import math
import re
from fractions import Fraction
from typing import Any, Mapping

TOKEN = re.compile(r"\\text\{[^{}]*\}|\\[A-Za-z]+|\\[,%]|\d+(?:\.\d+)?|[A-Za-z]|[{}_^()+\-=,']|\S")
WORDS = {r"\times": "*", r"\beta": "beta", r"\max": "max", r"\min": "min", r"\le": "<="}


class FormulaError(ValueError):
    """A formula outside the subset this module reads."""


def _ident(text: str) -> str:
    return re.sub(r"\W", "", re.sub(r"\s+", "_", text.strip()))


def latex_to_python(latex: str) -> list[str]:
    """The clauses of a printed LaTeX formula as Python expressions.

    >>> latex_to_python(r"\\text{IM} = \\frac{\\text{size} \\times \\text{entry}}{\\text{leverage}}")
    ['IM == ((size*entry)/(leverage))']
    >>> latex_to_python(r"\\text{cum}_1 = 0,\\quad \\text{cum}_n = \\text{cum}_{n-1} + \\text{floor}_n")[1]
    "cum[n] == cum[n-F('1')]+floor[n]"
    """
    tokens = [t for t in TOKEN.findall(latex) if t != r"\,"]
    clauses, current, depth = [], [], 0
    for k, token in enumerate(tokens):
        depth += token in "({" and 1 or 0
        depth -= token in ")}" and 1 or 0
        if token == "," and depth == 0 and k + 1 < len(tokens) and tokens[k + 1] == r"\quad":
            clauses.append(current)
            current = []
        elif token != r"\quad":
            current.append(token)
    clauses.append(current)
    return [_clause(c) for c in clauses]


def _clause(tokens: list[str]) -> str:
    if tokens[-2:] == [r"\pm", "1"] and tokens[-3] == "=":
        return f"abs({_Reader(tokens[:-3]).read_all()}) == 1"
    return _Reader(tokens).read_all()


class _Reader:
    def __init__(self, tokens: list[str]):
        self.tokens, self.at = tokens, 0

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise FormulaError("unexpected end of formula")
        self.at += 1
        return token

    def group(self) -> str:
        """One argument: a braced group or a single token's atom."""
        if self.peek() == "{":
            self.take()
            out = []
            while self.peek() != "}":
                out.append(self.item())
            self.take()
            return _join(out)
        return self.item().lstrip("\0")

    def read_all(self) -> str:
        out = []
        while self.peek() is not None:
            out.append(self.item())
        return _join(out)

    def name(self, base: str) -> str:
        if self.peek() == "'":
            self.take()
            base += "_prime"
        if self.peek() == "_":
            self.take()
            if self.peek() == "{" and self.tokens[self.at + 1].startswith(r"\text{") and self.tokens[self.at + 2] == "}":
                self.take()
                base += "_" + _ident(self.take()[6:-1])
                self.take()
            elif self.peek() is not None and self.peek().startswith(r"\text{"):
                base += "_" + _ident(self.take()[6:-1])
            else:
                base += "[" + self.group() + "]"
        return base

    def item(self) -> str:
        token = self.take()
        if token.startswith(r"\text{"):
            return "\0" + self.name(_ident(token[6:-1]))
        if re.fullmatch(r"\d+(?:\.\d+)?", token):
            return "\0" + f"F('{token}')"
        if re.fullmatch(r"[A-Za-z]", token):
            return "\0" + self.name(token)
        if token == r"\Delta":
            return "\0" + self.name("Delta_" + self.take())
        if token == r"\frac":
            return "\0" + f"(({self.group()})/({self.group()}))"
        if token == r"\lceil":
            inner = []
            while self.peek() != r"\rceil":
                inner.append(self.item())
            self.take()
            return "\0" + f"ceil({_join(inner)})"
        if token == r"\sum":
            return "\0" + self.sum()
        if token == r"\%":
            return "/100"
        if token == "=":
            return " == "
        if token in WORDS:
            return WORDS[token] if token in (r"\max", r"\min", r"\times", r"\le") else "\0" + self.name(WORDS[token])
        if token in "()+-,":
            return token
        raise FormulaError(f"cannot read {token!r}")

    def sum(self) -> str:
        if self.take() != "_":
            raise FormulaError(r"\sum needs a subscript")
        below = self.tokens[self.at:]
        if below[:1] == ["{"] and below[1].startswith(r"\text{"):
            self.take()
            over = _ident(self.take()[6:-1])
            self.take()
            return f"sum_{over}({self.item().lstrip(chr(0))})"
        start = self.group()
        if self.take() != "^":
            raise FormulaError(r"\sum over an index needs an upper bound")
        stop = self.group()
        index, first = start.split(" == ")
        return f"sum(({self.item().lstrip(chr(0))}) for {index.strip(chr(0))} in range(int({first}), int({stop}) + 1))"


def _join(parts: list[str]) -> str:
    """Concatenate, with ``*`` where two operands meet (``\\frac{1}{k} \\sum …``)."""
    out = ""
    for part in parts:
        operand = part.startswith("\0")
        text = part.lstrip("\0")
        if operand and out and (out[-1].isalnum() or out[-1] in ")]'_"):
            out += "*"
        elif part == "(" and out and (out[-1].isalnum() or out[-1] in ")]") and not out.endswith(("max", "min", "abs", "ceil")):
            out += "*"
        out += text
    return out


def arithmetic_to_python(text: str) -> str:
    """A lesson's printed arithmetic as Python: ``40,000`` is 40000, ``−`` minus, ``×`` times,
    ``÷`` and ``/`` divide, a word a name.

    >>> arithmetic_to_python("0.30 − (240.00 − 120.00) / 40,000")
    "F('0.30')-(F('240.00')-F('120.00'))/F('40000')"
    """
    text = text.replace("−", "-").replace("×", "*").replace("÷", "/").replace("\u00a0", " ")
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)
    text = re.sub(r"\d+(?:\.\d+)?", lambda m: f"F('{m.group(0)}')", text)
    return re.sub(r"\s+", "", text)


ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Compare, ast.Call, ast.Name, ast.Load, ast.Constant,
           ast.Subscript, ast.Tuple, ast.GeneratorExp, ast.comprehension, ast.Store, ast.Add, ast.Sub, ast.Mult,
           ast.Div, ast.USub, ast.UAdd, ast.Eq, ast.LtE)


def evaluate(expression: str, names: Mapping[str, Any]) -> Any:
    """Run ``expression`` with ``names`` and the few functions a formula may call; literals are
    exact fractions (so ``⌈1 % × 300⌉`` is 3, not 4 by a float's rounding)."""
    tree = ast.parse(expression, mode="eval")
    for node in ast.walk(tree):
        if not isinstance(node, ALLOWED):
            raise FormulaError(f"{type(node).__name__} is not arithmetic: {expression}")
    scope = {"F": Fraction, "ceil": math.ceil, "max": max, "min": min, "abs": abs, "sum": sum, "range": range,
             "int": int, **names}
    # one namespace as globals: a generator (a sum over j) sees only globals
    return eval(compile(tree, "<formula>", "eval"), {"__builtins__": {}, **scope})  # noqa: S307 (checked above)
