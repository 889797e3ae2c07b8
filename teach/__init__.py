"""Teaching: the lessons (data), the engine quantities they ask about, and the verdicts in words.

The engine (``margin/``) computes; this package asks and explains. Pages import from here.
"""

from teach.lessons import (
    Answer, CheckResult, Lesson, LessonError, Measure, apply_patch, get_lesson, lesson_ids, lesson_scenario,
    lessons,
)
from teach.quantities import QUANTITIES, liquidation_shock, measure
from teach.verdicts import check, expected, question_text


def _check_quantities() -> None:
    """Every lesson asks for a quantity the engine knows (a typo fails at import, in the tests)."""
    for lesson in lessons():
        if lesson.quantity.get("kind") not in QUANTITIES:
            raise LessonError(f"lesson {lesson.id}: unknown quantity {lesson.quantity.get('kind')!r}")


_check_quantities()

__all__ = [
    "Answer", "CheckResult", "Lesson", "LessonError", "Measure", "QUANTITIES", "apply_patch", "check", "expected",
    "get_lesson", "lesson_ids", "lesson_scenario", "lessons", "liquidation_shock", "measure", "question_text",
]
