"""Patient experience survey: answer scales, the default questions, and the statistics.

Pure: no ORM. The ILCOP evaluation found that teams dismissed survey results with "N=4", so
every result carries its N and a 95% confidence interval, small samples are flagged, and very
small ones are suppressed so that no patient can be recognised from the figures.
"""

import math
from collections import Counter
from dataclasses import dataclass

# z for a two-sided 95% interval: the 97.5th percentile of the standard normal distribution.
Z_95 = 1.959963984540054

RATING = "rating"
FREE_TEXT = "free_text"


@dataclass(frozen=True)
class Scale:
    """The answers a rating question offers. ``positive`` answers count towards the
    percentage positive; ``excluded`` answers ("not applicable", "don't know") are shown in
    the distribution but left out of N, as the National Cancer Patient Experience Survey
    does when it scores a question."""

    label: str
    options: tuple[tuple[str, str], ...]
    positive: frozenset[str]
    excluded: frozenset[str] = frozenset()

    def code_for(self, given: str) -> str | None:
        """The option a person meant, from its code or its label, ignoring case and spaces."""
        wanted = " ".join(given.split()).casefold()
        for code, label in self.options:
            if wanted in (code.casefold(), label.casefold(), code.replace("_", " ").casefold()):
                return code
        return None

    def label_for(self, code: str) -> str:
        return dict(self.options).get(code, code)


SCALES: dict[str, Scale] = {
    "agree5": Scale(
        label="Strongly agree to strongly disagree",
        options=(("strongly_agree", "Strongly agree"), ("agree", "Agree"),
                 ("neither", "Neither agree nor disagree"), ("disagree", "Disagree"),
                 ("strongly_disagree", "Strongly disagree"),
                 ("not_applicable", "Does not apply to me")),
        positive=frozenset({"strongly_agree", "agree"}),
        excluded=frozenset({"not_applicable"}),
    ),
    "yes_no": Scale(
        label="Yes, no or does not apply",
        options=(("yes", "Yes"), ("no", "No"), ("not_applicable", "Does not apply to me")),
        positive=frozenset({"yes"}),
        excluded=frozenset({"not_applicable"}),
    ),
    "quality5": Scale(
        label="Excellent to poor",
        options=(("excellent", "Excellent"), ("very_good", "Very good"), ("good", "Good"),
                 ("fair", "Fair"), ("poor", "Poor")),
        positive=frozenset({"excellent", "very_good"}),
    ),
}

SCALE_CHOICES = [(key, scale.label) for key, scale in SCALES.items()]


@dataclass(frozen=True)
class DefaultQuestion:
    code: str
    text: str
    kind: str
    scale: str = ""
    hint: str = ""


# Our own wording, covering the themes of the lung cancer patient's experience that ILCOP's
# survey asked about (PRODUCT.md): diagnosis, information, the specialist nurse, decisions,
# waiting, respect and overall care.
DEFAULT_QUESTIONS: tuple[DefaultQuestion, ...] = (
    DefaultQuestion("DIAGNOSIS", "When I was told I had lung cancer, it was done sensitively "
                    "and I had time to ask questions", RATING, "agree5"),
    DefaultQuestion("INFORMATION", "I was given written information about my type of cancer "
                    "that I could understand", RATING, "agree5"),
    DefaultQuestion("NURSE", "I was given the name of a specialist nurse who I could contact "
                    "for support", RATING, "yes_no"),
    DefaultQuestion("NURSE_HELP", "When I contacted my specialist nurse, I got the help I "
                    "needed", RATING, "agree5"),
    DefaultQuestion("DECISIONS", "I was as involved as I wanted to be in decisions about my "
                    "treatment", RATING, "agree5"),
    DefaultQuestion("WAITING", "The time I waited between tests, results and treatment felt "
                    "reasonable", RATING, "agree5"),
    DefaultQuestion("RESPECT", "I was treated with dignity and respect by the staff looking "
                    "after me", RATING, "agree5"),
    DefaultQuestion("OVERALL", "Overall, how would you rate the care you have received?",
                    RATING, "quality5"),
    DefaultQuestion("GOOD", "What was good about your care?", FREE_TEXT,
                    hint="Please do not write your name or the names of staff."),
    DefaultQuestion("IMPROVE", "What could have been better?", FREE_TEXT,
                    hint="Please do not write your name or the names of staff."),
)


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval for a proportion (Wilson 1927; Newcombe 1998, method 3).

    Chosen over the simple ±1.96·SE interval because it stays inside 0 to 1 and keeps close
    to its nominal coverage at the small N a single team's survey has (Newcombe 1998,
    Statistics in Medicine 17:857-872; Brown, Cai and DasGupta 2001).
    """
    if n <= 0:
        raise ValueError("A confidence interval needs at least one answer.")
    if not 0 <= successes <= n:
        raise ValueError(f"{successes} positive answers out of {n} is not possible.")
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half_width = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    # At 0 or n successes one end is exactly 0 or 1; rounding must not move it off.
    low = 0.0 if successes == 0 else max(0.0, centre - half_width)
    high = 1.0 if successes == n else min(1.0, centre + half_width)
    return low, high


# What the thresholds decide about a result.
SHOWN, LOW_NUMBERS, SUPPRESSED = "shown", "low_numbers", "suppressed"


@dataclass(frozen=True)
class QuestionSummary:
    n: int  # answers that count: not blank, not "does not apply"
    answered: int  # every answer given, including "does not apply"
    distribution: tuple[tuple[str, str, int], ...]  # (code, label, count) in scale order
    positive: int
    status: str  # SHOWN, LOW_NUMBERS or SUPPRESSED
    proportion: float | None  # None when suppressed or N is 0
    interval: tuple[float, float] | None

    @property
    def suppressed(self) -> bool:
        return self.status == SUPPRESSED

    @property
    def low_numbers(self) -> bool:
        return self.status == LOW_NUMBERS


def summarise(scale: Scale, answers: list[str] | Counter, *, warn_below: int,
              suppress_below: int) -> QuestionSummary:
    """N, the distribution and the percentage positive with its Wilson 95% interval.

    Below ``suppress_below`` counted answers nothing but N is given (the distribution of a
    handful of answers could identify the patients who gave them); below ``warn_below`` the
    figures are given with a low-numbers warning.
    """
    counts = answers if isinstance(answers, Counter) else Counter(answers)
    answered = sum(counts[code] for code, _ in scale.options)
    n = sum(counts[code] for code, _ in scale.options if code not in scale.excluded)
    positive = sum(counts[code] for code in scale.positive)
    if n < suppress_below:
        return QuestionSummary(n=n, answered=answered, distribution=(), positive=0,
                               status=SUPPRESSED, proportion=None, interval=None)
    status = LOW_NUMBERS if n < warn_below else SHOWN
    distribution = tuple((code, label, counts[code]) for code, label in scale.options)
    if n == 0:
        return QuestionSummary(n=0, answered=answered, distribution=distribution, positive=0,
                               status=status, proportion=None, interval=None)
    return QuestionSummary(n=n, answered=answered, distribution=distribution,
                           positive=positive, status=status, proportion=positive / n,
                           interval=wilson_interval(positive, n))
