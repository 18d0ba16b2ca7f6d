"""The demo programme's audit data, and the pairing of its intervention sites by the engine.

Figures are fictional but plausible for the National Lung Cancer Audit's headline measures.
Each site has its own strengths and weaknesses (independent random effects per indicator), so
partners with complementary strengths exist, as in ILCOP. The allocated sites also have a
pre-baseline year and the 2026 quarters to date, for the programme evaluation.
"""

import datetime
import random

from django.db import transaction

from ilcop.models import ActivityLog, User

from .models import Enrolment, Indicator, IndicatorValue, Pairing, Programme
from .periods import parse_period
from .services.allocation import PairingConstraints, pairing_confirm, pairing_propose

BASELINE = "2025"
PAIRED_AT = datetime.datetime(2026, 6, 30, 10, 0, tzinfo=datetime.UTC)
SOURCE = "National Lung Cancer Audit (fictional demo figures)"

# code, name, description, headline, national figure, target, share of new patients counted
INDICATORS = [
    ("HISTO", "Histological or cytological confirmation",
     "Patients whose diagnosis was confirmed by histology or cytology.", True, 0.78, 0.80, 0.95),
    ("ACTIVE", "Active anti-cancer treatment",
     "Patients who received surgery, radiotherapy or systemic anti-cancer treatment.",
     True, 0.64, 0.70, 0.95),
    ("SURGERY", "Surgical resection (non-small cell)",
     "Patients with non-small cell lung cancer who had surgery.", True, 0.17, 0.20, 0.8),
    ("CNS", "Seen by a lung cancer nurse specialist",
     "Patients seen by a lung cancer clinical nurse specialist.", True, 0.81, 0.90, 0.95),
    ("COMPLETE", "Data completeness",
     "Records with performance status and stage recorded.", False, 0.92, 0.95, 1.0),
]

# Statuses whose sites have baseline data: every site that got as far as the check.
_WITH_DATA = {Enrolment.Status.APPROVED, Enrolment.Status.ELIGIBLE, Enrolment.Status.INELIGIBLE,
              Enrolment.Status.INTERVENTION, Enrolment.Status.CONTROL}


@transaction.atomic
def build(programme: Programme, actor: User) -> int:
    """Add indicators and 2025 values, then pair the intervention sites and confirm the pairs,
    then add the allocated sites' values for the evaluation's other periods.

    Returns the number of pairs. Deterministic: random.Random(2005), after Spiegelhalter.
    """
    rng = random.Random(2005)
    programme.baseline_period = BASELINE
    programme.min_denominator = 30
    programme.save(update_fields=["baseline_period", "min_denominator"])
    indicators = Indicator.objects.bulk_create(
        Indicator(programme=programme, code=code, name=name, description=description,
                  source=SOURCE, is_headline=headline, order=order)
        for order, (code, name, description, headline, *_rest) in enumerate(INDICATORS)
    )
    period = parse_period(BASELINE)
    values = []
    enrolments = (Enrolment.objects.filter(programme=programme)
                  .select_related("site").order_by("site_id"))
    for enrolment in enrolments:
        reached = enrolment.withdrawn_from or enrolment.status
        if reached not in _WITH_DATA:
            continue
        patients = enrolment.site.annual_new_patients or 250
        if enrolment.status == Enrolment.Status.INELIGIBLE:
            # Too few patients recorded at baseline: the reason they were found ineligible.
            patients = rng.randint(12, 28)
        for indicator, spec in zip(indicators, INDICATORS, strict=True):
            *_head, national, target, share = spec
            denominator = max(1, round(patients * share * rng.uniform(0.85, 1.05)))
            effect = rng.gauss(0, 0.06 if national > 0.3 else 0.04)
            proportion = min(0.99, max(0.02, national + effect))
            values.append(IndicatorValue(
                indicator=indicator, site=enrolment.site, period=period.label,
                period_start=period.start, period_end=period.end, denominator=denominator,
                numerator=round(proportion * denominator), national=national, target=target,
            ))
    IndicatorValue.objects.bulk_create(values)

    # ILCOP's participants preferred partners who were not near neighbours.
    first_entry = ActivityLog.objects.order_by("-id").values_list("id", flat=True).first() or 0
    pairing = pairing_propose(programme=programme, user=actor,
                              rules=PairingConstraints(not_same_network=True))
    pairing_confirm(pairing=pairing, user=actor)
    # Date the pairing within the demo's story (early summer 2026), so a rebuilt demo is
    # identical to the first one.
    Pairing.objects.filter(pk=pairing.pk).update(created_at=PAIRED_AT, confirmed_at=PAIRED_AT)
    ActivityLog.objects.filter(id__gt=first_entry).update(created_at=PAIRED_AT)
    _add_evaluation_values(programme, indicators, values)
    return pairing.pairs.count()


# The programme evaluation (programmes.evaluation) compares the arms before and after. The demo
# is dated late 2026: sites were allocated at the end of March, paired at the end of June, and
# visits began in July. By late November the 2026 calendar quarters to September have ended
# and their audit figures are out. The first two fall before any visit, so they show the arms
# before the programme could act; the third, the first quarter with visits, is the latest
# follow-up, an early look at a programme that runs to December 2027. 2024 shows the trend
# before the baseline, which the comparison assumes was parallel in the two arms.
PRE_BASELINE = "2024"
FOLLOW_UP = ("2026 Q1", "2026 Q2", "2026 Q3")
# How much of a site's intervention effect has shown by each period: a little once teams knew
# their arm and partner, the rest once visits began.
EFFECT_SHOWN = {"2024": 0.0, "2026 Q1": 0.0, "2026 Q2": 0.25, "2026 Q3": 1.0}
# Fictional. A modest effect, of the size a peer review programme might plausibly reach: a few
# percentage points, varying between sites.
EFFECT = {"HISTO": 0.035, "ACTIVE": 0.04, "SURGERY": 0.02, "CNS": 0.035, "COMPLETE": 0.01}
# Audit figures improve everywhere over time; the difference in differences takes this out.
TREND_PER_YEAR = 0.01
# The share of a site's 2025 distance from the national figure that lasts. The rest was chance
# and does not recur, so in other periods sites drift back towards the national figure
# (regression to the mean; Barnett, van der Pols and Dobson, Int J Epidemiol 2005;34:215-20).
LASTING = 0.7
# Period-to-period variation beyond binomial sampling: staffing, case mix, coding.
EXTRA_NOISE = 0.01


def _middle(period) -> datetime.date:
    return period.start + (period.end - period.start) / 2


def _add_evaluation_values(programme: Programme, indicators: list[Indicator],
                           baseline_values: list[IndicatorValue]) -> None:
    """2024 and 2026 Q1 to Q3 values for the allocated sites, drawn from their 2025 values.

    A separate seed, drawn after everything else, so the baseline figures, the eligibility
    and the pairing are exactly as they were before these periods were added. Only allocated
    sites get them (the evaluation compares only those), so every other site's page still
    shows its 2025 figures. One control site has not yet submitted 2026 Q3, as happens, so the
    page shows a site left out of the comparison.
    """
    rng = random.Random(2014)  # after Dimick and Ryan's difference-in-differences primer
    arm_of = dict(Enrolment.objects.filter(programme=programme).allocated()
                  .values_list("site_id", "arm"))
    late = min((s for s, arm in arm_of.items() if arm == Enrolment.Status.CONTROL), default=None)
    code_of = {indicator.pk: indicator.code for indicator in indicators}
    baseline = parse_period(BASELINE)
    effects: dict[tuple[int, str], float] = {}
    values = []
    for value in sorted(baseline_values, key=lambda v: (v.site_id, v.indicator_id)):
        arm = arm_of.get(value.site_id)
        if arm is None:
            continue
        code = code_of[value.indicator_id]
        if arm == Enrolment.Status.INTERVENTION:
            effects[value.site_id, code] = max(0.0, rng.gauss(EFFECT[code], EFFECT[code] / 2))
        lasting = value.national + LASTING * (value.proportion - value.national)
        for label in (PRE_BASELINE, *FOLLOW_UP):
            period = parse_period(label)
            share_of_year = ((period.end - period.start).days + 1) / 365
            denominator = max(1, round(value.denominator * share_of_year * rng.uniform(0.85, 1.1)))
            years = (_middle(period) - _middle(baseline)).days / 365.25
            expected = (lasting + TREND_PER_YEAR * years
                        + effects.get((value.site_id, code), 0.0) * EFFECT_SHOWN[label])
            expected = min(0.98, max(0.02, expected))
            sampling = (expected * (1 - expected) / denominator) ** 0.5
            observed = expected + rng.gauss(0, sampling) + rng.gauss(0, EXTRA_NOISE)
            if value.site_id == late and label == FOLLOW_UP[-1]:
                continue
            values.append(IndicatorValue(
                indicator_id=value.indicator_id, site_id=value.site_id, period=period.label,
                period_start=period.start, period_end=period.end, denominator=denominator,
                numerator=round(min(0.99, max(0.0, observed)) * denominator),
                national=min(0.99, value.national + TREND_PER_YEAR * years),
                target=value.target,
            ))
    IndicatorValue.objects.bulk_create(values)
