"""Forms for plans and their parts. Labels and hints carry the guidance the ILCOP teams
asked for; worked examples sit beside the fields in the templates."""

import datetime

from django import forms

from ilcop.concurrency import VersionedFormMixin
from ilcop.forms import PlainErrorMessagesMixin
from programmes.forms import DATE_WIDGET, SiteImportForm

from .models import (
    Barrier,
    Driver,
    Measure,
    MeasureRebase,
    Milestone,
    PdsaCycle,
    PlanRole,
    ProgressUpdate,
    QualityImprovementPlan,
    ReviewComment,
    SupportRecord,
)


class NoBlankRadiosMixin:
    """Radio buttons offer only the real choices: Django adds a "---------" option for a
    model field without a default, which as a radio button means nothing."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            # CheckboxSelectMultiple is a RadioSelect too, but offers no blank choice.
            if (isinstance(field.widget, forms.RadioSelect)
                    and not isinstance(field.widget, forms.CheckboxSelectMultiple)
                    and not isinstance(field, forms.ModelChoiceField)):
                field.choices = [(v, label) for v, label in field.choices if v != ""]


class NewPlanForm(PlainErrorMessagesMixin, forms.Form):
    title = forms.CharField(label="Title of the plan", max_length=200,
                            help_text="A few words a colleague would recognise, such as "
                                      "“Telling patients their diagnosis with a CNS present”")


class PlanForm(VersionedFormMixin, NoBlankRadiosMixin, PlainErrorMessagesMixin, forms.ModelForm):
    class Meta:
        model = QualityImprovementPlan
        fields = ["title", "problem_statement", "indicators", "survey_questions",
                  "evidence_notes", "aim_what", "aim_how_much", "aim_for_whom", "aim_by_when",
                  "category", "sustainability_plan", "reporting_owner", "share_with_partner",
                  "share_with_programme", "results_summary", "lessons_learned"]
        widgets = {
            "problem_statement": forms.Textarea(attrs={"rows": 5}),
            "evidence_notes": forms.Textarea(attrs={"rows": 3}),
            "sustainability_plan": forms.Textarea(attrs={"rows": 4}),
            "results_summary": forms.Textarea(attrs={"rows": 4}),
            "lessons_learned": forms.Textarea(attrs={"rows": 4}),
            "aim_by_when": DATE_WIDGET,
            "indicators": forms.CheckboxSelectMultiple,
            "survey_questions": forms.CheckboxSelectMultiple,
            "category": forms.RadioSelect,
        }
        help_texts = {
            "aim_what": "For example, “the share of patients told their diagnosis with a "
                        "lung cancer nurse specialist present”",
            "aim_how_much": "A number: for example, “from 55% to 85%”",
            "aim_for_whom": "For example, “patients diagnosed with lung cancer at our trust”",
            "aim_by_when": "A date within the plan's 16 months",
            "category": "A quick fix is done within weeks; beyond local resources needs "
                        "help from outside the team, such as the trust board or the cancer "
                        "alliance",
            "reporting_owner": "They get the monthly reminder",
            "results_summary": "Fill in as results come in, and at the end",
        }

    def __init__(self, *args, plan: QualityImprovementPlan, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["indicators"].queryset = plan.programme.indicators.all()
        self.fields["survey_questions"].queryset = (
            plan.programme.survey.questions.filter(kind="rating")
            if hasattr(plan.programme, "survey") else
            self.fields["survey_questions"].queryset.none())
        self.fields["survey_questions"].label_from_instance = lambda q: q.text
        self.fields["reporting_owner"].queryset = people
        self.fields["reporting_owner"].label_from_instance = lambda u: u.full_name or u.email
        self.fields["category"].required = False
        if plan.review_id:
            # A review's action plan also says how the service needs help and when progress
            # is next reviewed (qips.services.action_plans); other plans never ask.
            self.fields["reporting_owner"].label = "Owner of the action plan"
            self.fields["reporting_owner"].help_text = (
                "The person who answers for the plan and sends the monthly update")
            for name, widget in (("support_requested", forms.Textarea(attrs={"rows": 4})),
                                 ("next_review_on", DATE_WIDGET)):
                self.fields[name] = QualityImprovementPlan._meta.get_field(name).formfield(
                    widget=widget)
                self.initial.setdefault(name, getattr(self.instance, name))


class DriverForm(VersionedFormMixin, NoBlankRadiosMixin, PlainErrorMessagesMixin, forms.ModelForm):
    class Meta:
        model = Driver
        fields = ["parent", "kind", "text"]
        widgets = {"kind": forms.RadioSelect}
        labels = {"parent": "Under", "text": "Wording"}

    def __init__(self, *args, plan: QualityImprovementPlan, **kwargs):
        super().__init__(*args, **kwargs)
        parents = plan.drivers.exclude(kind=Driver.Kind.CHANGE_IDEA)
        if self.instance.pk:
            # Not under itself or its own branch, which would loop.
            below = {self.instance.pk}
            frontier = {self.instance.pk}
            while frontier:
                frontier = set(plan.drivers.filter(parent__in=frontier).values_list(
                    "pk", flat=True)) - below
                below |= frontier
            parents = parents.exclude(pk__in=below)
        self.fields["parent"].queryset = parents
        self.fields["parent"].required = False
        self.fields["parent"].empty_label = "The aim (for a primary driver)"
        self.fields["parent"].label_from_instance = (
            lambda d: f"{d.get_kind_display()}: {d.text}")

    def clean(self):
        cleaned = super().clean()
        kind, parent = cleaned.get("kind"), cleaned.get("parent")
        expected = {Driver.Kind.PRIMARY: None, Driver.Kind.SECONDARY: Driver.Kind.PRIMARY,
                    Driver.Kind.CHANGE_IDEA: Driver.Kind.SECONDARY}
        if kind and (parent.kind if parent else None) != expected[kind]:
            where = {Driver.Kind.PRIMARY: "directly under the aim",
                     Driver.Kind.SECONDARY: "under a primary driver",
                     Driver.Kind.CHANGE_IDEA: "under a secondary driver"}[kind]
            self.add_error("parent", f"A {Driver.Kind(kind).label.lower()} goes {where}")
        return cleaned


class RoleForm(VersionedFormMixin, NoBlankRadiosMixin, PlainErrorMessagesMixin, forms.ModelForm):
    class Meta:
        model = PlanRole
        fields = ["person", "job_title", "responsibility", "due_on", "permanent_staff",
                  "owns_sustainability"]
        widgets = {"due_on": DATE_WIDGET}


class MilestoneForm(VersionedFormMixin, NoBlankRadiosMixin, PlainErrorMessagesMixin,
                    forms.ModelForm):
    class Meta:
        model = Milestone
        fields = ["title", "owner", "due_on", "status", "done_on"]
        widgets = {"due_on": DATE_WIDGET, "done_on": DATE_WIDGET, "status": forms.RadioSelect}
        help_texts = {"owner": "A name or a role, such as “MDT coordinator”",
                      "done_on": "Leave empty until it is done"}

    def clean(self):
        cleaned = super().clean()
        status, done_on = cleaned.get("status"), cleaned.get("done_on")
        # Done exactly when it has a date (qips.services.parts keeps the two in step).
        if done_on and status and status != Milestone.Status.DONE:
            self.add_error("done_on", "Clear the date it was done, or set the status to Done")
        return cleaned


class BarrierForm(VersionedFormMixin, NoBlankRadiosMixin, PlainErrorMessagesMixin, forms.ModelForm):
    class Meta:
        model = Barrier
        fields = ["kind", "description", "raised_on", "owner", "help_needed", "status"]
        widgets = {"raised_on": DATE_WIDGET, "description": forms.Textarea(attrs={"rows": 3}),
                   "help_needed": forms.Textarea(attrs={"rows": 3}),
                   "status": forms.RadioSelect}


class MeasureForm(VersionedFormMixin, NoBlankRadiosMixin, PlainErrorMessagesMixin, forms.ModelForm):
    class Meta:
        model = Measure
        fields = ["kind", "name", "numerator", "denominator", "frequency", "data_source",
                  "direction", "baseline", "target", "chart", "baseline_points"]
        widgets = {"kind": forms.RadioSelect, "direction": forms.RadioSelect,
                   "chart": forms.RadioSelect}
        help_texts = {
            "kind": "Outcome: what matters to patients. Process: whether the change is being "
                    "done. Balancing: what might get worse elsewhere",
            "chart": "A run chart works from the first few points. An XmR chart needs about "
                     "12 points before its limits mean much",
        }

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("denominator"):
            for name in ("baseline", "target"):
                value = cleaned.get(name)
                if value is not None and not 0 <= value <= 100:
                    self.add_error(name, "A percentage must be between 0 and 100")
        return cleaned


class MeasurementPasteForm(PlainErrorMessagesMixin, forms.Form):
    rows = forms.CharField(label="Paste rows from a spreadsheet",
                           widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}))


class MeasurementImportForm(SiteImportForm):
    file = forms.FileField(label="Upload a CSV file or Excel workbook",
                           help_text="The first row must be the column names.")


class RebaseForm(NoBlankRadiosMixin, PlainErrorMessagesMixin, forms.ModelForm):
    class Meta:
        model = MeasureRebase
        fields = ["starts_on", "reason"]
        widgets = {"starts_on": DATE_WIDGET}
        labels = {"starts_on": "New limits from", "reason": "What changed"}

    def __init__(self, *args, measure: Measure, **kwargs):
        super().__init__(*args, **kwargs)
        self.measure = measure

    def clean_starts_on(self):
        day = self.cleaned_data["starts_on"]
        if self.measure.rebases.filter(starts_on=day).exists():
            raise forms.ValidationError("The chart is already rebased from that date")
        return day


class PdsaForm(VersionedFormMixin, NoBlankRadiosMixin, PlainErrorMessagesMixin, forms.ModelForm):
    class Meta:
        model = PdsaCycle
        fields = ["change_idea", "follows", "title", "question", "prediction", "who", "what",
                  "when", "where", "data_to_collect", "started_on", "what_happened",
                  "results", "decision", "decision_reason"]
        widgets = {f: forms.Textarea(attrs={"rows": 3}) for f in (
            "question", "prediction", "what", "data_to_collect", "what_happened", "results",
            "decision_reason")} | {"started_on": DATE_WIDGET, "decision": forms.RadioSelect}
        help_texts = {
            "prediction": "Write it before you start. For example, “at least 8 of the next 10 "
                          "patients will have a CNS with them when told”",
            "follows": "If this test follows from an earlier cycle's Act",
        }

    def __init__(self, *args, plan: QualityImprovementPlan, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["change_idea"].queryset = plan.drivers.filter(
            kind=Driver.Kind.CHANGE_IDEA)
        # The next test follows from a finished one's Act.
        self.fields["follows"].queryset = plan.pdsa_cycles.filter(
            completed_on__isnull=False).exclude(pk=self.instance.pk)
        self.fields["follows"].required = False
        self.fields["decision"].required = False
        if self.instance.pk and self.instance.what_happened.strip():
            # A prediction rewritten after the test has run is no longer a prediction.
            for name in ("change_idea", "question", "prediction"):
                self.fields[name].disabled = True
                self.fields[name].help_text = "Fixed once the test has run"


class ProgressUpdateForm(NoBlankRadiosMixin, PlainErrorMessagesMixin, forms.ModelForm):
    month = forms.DateField(label="Month", widget=forms.DateInput(attrs={"type": "month"}),
                            input_formats=["%Y-%m", "%Y-%m-%d"])

    class Meta:
        model = ProgressUpdate
        fields = ["month", "done", "new_data", "barriers", "help_needed", "rag"]
        widgets = {f: forms.Textarea(attrs={"rows": 3}) for f in (
            "done", "new_data", "barriers", "help_needed")} | {"rag": forms.RadioSelect}

    def clean_month(self):
        month = self.cleaned_data["month"].replace(day=1)
        if month > datetime.date.today():  # noqa: DTZ011 - a calendar month
            raise forms.ValidationError("The month cannot be in the future")
        return month


class ReviewCommentForm(NoBlankRadiosMixin, PlainErrorMessagesMixin, forms.ModelForm):
    class Meta:
        model = ReviewComment
        fields = ["field", "text"]
        widgets = {"text": forms.Textarea(attrs={"rows": 3})}


class CommentResponseForm(PlainErrorMessagesMixin, forms.Form):
    response = forms.CharField(label="Your answer", widget=forms.Textarea(attrs={"rows": 3}))


class TransitionForm(forms.Form):
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


class SupportForm(NoBlankRadiosMixin, PlainErrorMessagesMixin, forms.ModelForm):
    class Meta:
        model = SupportRecord
        fields = ["kind", "given_on", "notes"]
        widgets = {"given_on": DATE_WIDGET, "kind": forms.RadioSelect,
                   "notes": forms.Textarea(attrs={"rows": 3})}
