"""The form for sharing a review's good practice in the programme's library."""

from django import forms

from ilcop.forms import PlainErrorMessagesMixin


class LibraryShareForm(PlainErrorMessagesMixin, forms.Form):
    title = forms.CharField(label="Title in the library", max_length=200)
    body = forms.CharField(
        label="The good practice", widget=forms.Textarea(attrs={"rows": 8}),
        help_text="What the service does that others could learn from. Leave out anything "
                  "that identifies a person: names, job titles held by one person, patients' "
                  "details. The service is not named.")
