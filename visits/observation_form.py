"""The observation form as data, and the rules for its answers. Pure: no Django, no ORM.

On a visit day the visiting team watches the host team's real MDT meeting and records what it
sees on this form. A programme's form is a *definition*: a list of sections, each with
questions::

    [{"key": "chairing", "title": "Chairing and time keeping",
      "questions": [{"key": "chair_rating", "type": "rating", "text": "...", "help": "...",
                     "labels": ["Poor", ..., "Excellent"]}, ...]}, ...]

Question types:

- ``rating``: a whole number from 1 to 5; ``labels`` names the five points (stored with the
  question so an old version keeps its wording);
- ``yes_no_partly``: ``"yes"``, ``"partly"`` or ``"no"``;
- ``number``: a whole number between ``min`` and ``max``;
- ``text``: free text, up to ``TEXT_MAX_LENGTH`` characters.

Required on submission: every question that is not free text, unless the question says
otherwise with ``"required": true`` or ``false``. Free-text answers are optional because an
observer may have nothing to add under a heading, but a rating, a yes/no or a count left blank
would make the side-by-side comparison misleading. Drafts may be partial.

The wording below is this product's own, written for lung cancer MDT meetings.
"""

import re
from collections.abc import Iterator, Mapping
from typing import Any

QUESTION_TYPES = ("rating", "yes_no_partly", "number", "text")
RATING_LABELS = ["Poor", "Fair", "Good", "Very good", "Excellent"]
YES_NO_PARTLY = [("yes", "Yes"), ("partly", "Partly"), ("no", "No")]
TEXT_MAX_LENGTH = 4000
DEFAULT_TITLE = "Observation of the MDT meeting"
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
# Keys are posted as field names, so they must not clash with the form's own fields.
RESERVED_KEYS = frozenset({"action", "csrfmiddlewaretoken"})


def _rating(key: str, text: str, help: str = "") -> dict:
    return {"key": key, "type": "rating", "text": text, "help": help,
            "labels": list(RATING_LABELS)}


def _yes_no(key: str, text: str, help: str = "") -> dict:
    return {"key": key, "type": "yes_no_partly", "text": text, "help": help}


def _number(key: str, text: str, maximum: int, help: str = "") -> dict:
    return {"key": key, "type": "number", "text": text, "help": help, "min": 0, "max": maximum}


def _text(key: str, text: str, help: str = "") -> dict:
    return {"key": key, "type": "text", "text": text, "help": help}


DEFAULT_DEFINITION: list[dict] = [
    {"key": "attendance", "title": "Who attended", "questions": [
        _number("att_physicians", "How many respiratory physicians attended?", 30,
                "Count people in the room and anyone joining by video."),
        _number("att_surgeons", "How many thoracic surgeons attended?", 30),
        _number("att_oncologists", "How many oncologists (clinical or medical) attended?", 30),
        _number("att_radiologists", "How many radiologists attended?", 30),
        _number("att_pathologists", "How many pathologists attended?", 30),
        _number("att_cns", "How many lung cancer clinical nurse specialists attended?", 30),
        _yes_no("att_mdt_coordinator", "Was an MDT coordinator there for the whole meeting?",
                "Choose partly if they were there for only some of it."),
        _yes_no("att_palliative", "Was someone from palliative or supportive care there?"),
        _number("att_total", "How many people attended altogether?", 100),
        _rating("att_rating", "How well did the people present cover the expertise the cases "
                "needed?"),
        _text("att_notes", "Anything else about attendance?"),
    ]},
    {"key": "chairing", "title": "Chairing and time keeping", "questions": [
        _yes_no("chair_clear", "Was it clear who was chairing?"),
        _yes_no("chair_on_time", "Did the meeting start on time?"),
        _number("chair_cases", "How many patients were discussed?", 150),
        _number("chair_minutes", "How long did the meeting last, in minutes?", 480),
        _yes_no("chair_voices", "Did everyone with something to add get the chance to say it?",
                "For example, did the chair bring in nurses and quieter members?"),
        _rating("chair_rating", "How well was the meeting chaired?",
                "Think about keeping discussion on track and making sure each patient reached "
                "a decision."),
        _rating("chair_time_rating", "How well was time shared across the list of patients?"),
        _text("chair_notes", "Anything else about chairing and time keeping?"),
    ]},
    {"key": "preparation", "title": "Preparation and the list of patients", "questions": [
        _yes_no("prep_list_shared", "Was the list of patients shared before the meeting?"),
        _yes_no("prep_question_clear",
                "For each patient, was it clear what the meeting was being asked to decide?"),
        _number("prep_added_late", "How many patients were added to the list on the day?", 50),
        _rating("prep_rating", "How well prepared were the patients presented?"),
        _text("prep_notes", "Anything else about preparation?"),
    ]},
    {"key": "information", "title": "Scans, pathology and other information", "questions": [
        _yes_no("info_imaging", "Could the meeting see each patient's scans when they were "
                "discussed?"),
        _yes_no("info_pathology", "Were pathology results there when they were needed?"),
        _yes_no("info_background", "Was background information to hand, such as fitness, "
                "other illnesses and earlier letters?"),
        _number("info_deferred", "How many decisions were put off because information was "
                "missing?", 50),
        _rating("info_rating", "Overall, how good was access to the information needed to "
                "decide?"),
        _text("info_notes", "Anything else about access to information?"),
    ]},
    {"key": "room", "title": "Technology and the room", "questions": [
        _yes_no("room_see_hear", "Could everyone see the screens and hear the discussion?",
                "Include anyone joining by video."),
        _yes_no("room_video", "Did video links to other sites or remote members work well?",
                "Choose no if they were needed but did not work; partly if they dropped out."),
        _rating("room_rating", "How well did the room and its equipment suit the meeting?"),
        _text("room_notes", "Anything else about technology and the room?"),
    ]},
    {"key": "decisions", "title": "How decisions were made and recorded", "questions": [
        _yes_no("dec_stated", "Was a clear decision reached and said out loud for each "
                "patient?"),
        _yes_no("dec_recorded", "Were decisions written down during the meeting where "
                "members could check them?"),
        _yes_no("dec_evidence", "Did discussion draw on guidelines or clinical trials where "
                "they applied?"),
        _rating("dec_rating", "How good was decision-making overall?"),
        _text("dec_notes", "Anything else about decisions?"),
    ]},
    {"key": "patient", "title": "Putting the patient at the centre", "questions": [
        _yes_no("pc_wishes", "Were the patient's own views and wishes mentioned when "
                "deciding?"),
        _yes_no("pc_circumstances", "Were the patient's fitness and home circumstances "
                "taken into account?"),
        _yes_no("pc_cns", "Did the clinical nurse specialists share what they knew about the "
                "patient?"),
        _yes_no("pc_telling", "Was it agreed who would tell each patient the outcome?"),
        _rating("pc_rating", "Overall, how well did discussions keep the patient in mind?"),
        _text("pc_notes", "Anything else about patient-centred care?"),
    ]},
    {"key": "data", "title": "Capturing data", "questions": [
        _yes_no("data_live", "Were audit data items, such as stage and performance status, "
                "recorded during the meeting?"),
        _yes_no("data_owner", "Was it clear who makes sure the audit data are complete?"),
        _rating("data_rating", "How well does the meeting support complete and accurate "
                "data?"),
        _text("data_notes", "Anything else about data capture?"),
    ]},
    {"key": "overall", "title": "Overall", "questions": [
        _text("overall_strengths", "What does this team do well that others could learn "
              "from?"),
        _text("overall_ideas", "What might this team try doing differently?"),
    ]},
]


def questions(definition: list[dict]) -> Iterator[dict]:
    """Every question of a definition, in order."""
    for section in definition:
        yield from section.get("questions", [])


def is_required(question: Mapping[str, Any]) -> bool:
    return bool(question.get("required", question.get("type") != "text"))


def rating_labels(question: Mapping[str, Any]) -> list[str]:
    labels = question.get("labels")
    return list(labels) if labels else list(RATING_LABELS)


def validate_definition(definition: Any) -> list[str]:
    """Every problem with a definition, as sentences; an empty list means it is usable."""
    if not isinstance(definition, list) or not definition:
        return ["The form needs at least one section"]
    problems: list[str] = []
    seen: set[str] = set()

    def check_key(key: Any, where: str) -> None:
        if not isinstance(key, str) or not KEY_PATTERN.match(key):
            problems.append(f"{where} needs a key of lower-case letters, digits and "
                            "underscores, starting with a letter")
        elif key in RESERVED_KEYS:
            problems.append(f"{where}: the key {key!r} is reserved")
        elif key in seen:
            problems.append(f"{where}: the key {key!r} is used more than once")
        else:
            seen.add(key)

    for s, section in enumerate(definition, 1):
        where = f"Section {s}"
        if not isinstance(section, dict):
            problems.append(f"{where} is not a section")
            continue
        check_key(section.get("key"), where)
        if not isinstance(section.get("title"), str) or not section["title"].strip():
            problems.append(f"{where} needs a title")
        items = section.get("questions")
        if not isinstance(items, list) or not items:
            problems.append(f"{where} needs at least one question")
            continue
        for q, question in enumerate(items, 1):
            where = f"Section {s}, question {q}"
            if not isinstance(question, dict):
                problems.append(f"{where} is not a question")
                continue
            check_key(question.get("key"), where)
            if not isinstance(question.get("text"), str) or not question["text"].strip():
                problems.append(f"{where} needs its wording")
            if not isinstance(question.get("help", ""), str):
                problems.append(f"{where}: the help text must be text")
            if "required" in question and not isinstance(question["required"], bool):
                problems.append(f"{where}: required must be true or false")
            kind = question.get("type")
            if kind not in QUESTION_TYPES:
                problems.append(f"{where} has an unknown type {kind!r}; use one of "
                                + ", ".join(QUESTION_TYPES))
            elif kind == "number":
                low, high = question.get("min"), question.get("max")
                if not all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high)):
                    problems.append(f"{where} needs whole-number min and max")
                elif low > high:
                    problems.append(f"{where}: min is more than max")
            elif kind == "rating" and "labels" in question:
                labels = question["labels"]
                if (not isinstance(labels, list) or len(labels) != 5
                        or not all(isinstance(x, str) and x.strip() for x in labels)):
                    problems.append(f"{where} needs five rating labels")
    return problems


def _clean_one(question: Mapping[str, Any], value: str) -> tuple[Any, str]:
    kind = question["type"]
    if kind == "rating":
        if value in ("1", "2", "3", "4", "5"):
            return int(value), ""
        return None, "Choose a rating from 1 to 5"
    if kind == "yes_no_partly":
        if value in {v for v, _ in YES_NO_PARTLY}:
            return value, ""
        return None, "Choose yes, partly or no"
    if kind == "number":
        low, high = question["min"], question["max"]
        message = f"Enter a whole number between {low} and {high}"
        digits = value.replace(",", "").replace(" ", "")
        if not re.fullmatch(r"-?\d{1,9}", digits):
            return None, message
        number = int(digits)
        if not low <= number <= high:
            return None, message
        return number, ""
    # text
    value = value.replace("\r\n", "\n")
    if "\x00" in value:
        # A NUL (pasted from a broken document) cannot be stored in PostgreSQL text or JSON;
        # Django's own CharField refuses it the same way (ProhibitNullCharactersValidator).
        return None, "This answer contains a hidden character that cannot be saved. Retype it"
    if len(value) > TEXT_MAX_LENGTH:
        return None, f"Keep this answer to {TEXT_MAX_LENGTH:,} characters or fewer"
    return value, ""


def clean_answers(definition: list[dict],
                  raw: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Posted strings to typed answers, and an error message for each answer that is wrong.

    Only the definition's questions are read; other keys (the CSRF token, buttons) are
    ignored. A question that is missing or blank gets no answer and no error: drafts may be
    partial, and `missing_answers` decides what a submission needs.
    """
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for question in questions(definition):
        value = raw.get(question["key"])
        if value is None:
            continue
        value = str(value).strip()
        if not value:
            continue
        cleaned, error = _clean_one(question, value)
        if error:
            errors[question["key"]] = error
        else:
            answers[question["key"]] = cleaned
    return answers, errors


def missing_answers(definition: list[dict], answers: Mapping[str, Any]) -> list[str]:
    """The keys of required questions without an answer, in the form's order."""
    return [q["key"] for q in questions(definition)
            if is_required(q) and answers.get(q["key"]) in (None, "")]


def display_answer(question: Mapping[str, Any], value: Any) -> str:
    """An answer as a person reads it: "4 – Very good", "Partly", "3"."""
    if value is None or value == "":
        return ""
    kind = question.get("type")
    if kind == "rating" and isinstance(value, int) and 1 <= value <= 5:
        return f"{value} – {rating_labels(question)[value - 1]}"
    if kind == "yes_no_partly":
        return dict(YES_NO_PARTLY).get(value, str(value))
    return str(value)


def summarise(question: Mapping[str, Any], values: list[Any]) -> str:
    """One line across observers: a rating's average, the yes/partly/no counts, a number's
    range. Empty for free text and when nobody answered."""
    given = [v for v in values if v is not None and v != ""]
    if not given:
        return ""
    kind = question.get("type")
    if kind == "rating":
        average = rating_average(given)
        if average is None:
            return ""
        rated = sum(1 for v in given if isinstance(v, int))
        return f"Average {average:.1f} ({rated} rated)"
    if kind == "yes_no_partly":
        counts = [(sum(1 for v in given if v == value), label.lower())
                  for value, label in YES_NO_PARTLY]
        return ", ".join(f"{n} {label}" for n, label in counts if n)
    if kind == "number":
        numbers = [v for v in given if isinstance(v, int)]
        if not numbers:
            return ""
        low, high = min(numbers), max(numbers)
        return str(low) if low == high else f"{low} to {high}"
    return ""


def rating_average(values: list[Any]) -> float | None:
    ratings = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
    return sum(ratings) / len(ratings) if ratings else None
