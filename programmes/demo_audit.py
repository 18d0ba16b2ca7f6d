"""The demo programme's audit data, and the pairing of its intervention sites by the engine.

Figures are fictional but plausible for the National Lung Cancer Audit's headline measures.
Each site has its own strengths and weaknesses (independent random effects per indicator), so
partners with complementary strengths exist, as in ILCOP.
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
    """Add indicators and 2025 values, then pair the intervention sites and confirm the pairs.

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
    return pairing.pairs.count()
