"""Forms of the knowledge-base pages. They check shapes only; `knowledge` services decide
what a value means and their InvalidInput is put next to the field it names."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accord.web import MapsServiceErrors

from .models import ArticleCategory, Visibility


class ArticleForm(MapsServiceErrors, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    title = forms.CharField(label=_("Title"), max_length=250)
    body = forms.CharField(
        label=_("Text"), required=False, widget=forms.Textarea(attrs={"rows": 16}),
        help_text=_("Paragraphs, line breaks, bold, italics, lists, links, headings, code and "
                    "quotes are kept as HTML; anything else is removed when saved."))
    category = forms.ModelChoiceField(label=_("Category"), queryset=ArticleCategory.objects.none(),
                                      required=False, empty_label=_("No category"))
    visibility = forms.ChoiceField(
        label=_("Visibility"), choices=Visibility.choices, initial=Visibility.INTERNAL,
        help_text=_("Public articles can be read in the customer portal once published."))

    error_aliases = {"category_id": "category"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = ArticleCategory.objects.all()

    def service_data(self) -> dict:
        data = self.cleaned_data
        return {"title": data["title"], "body": data.get("body") or "",
                "category": data["category"].pk if data.get("category") else None,
                "visibility": data["visibility"]}


class CategoryForm(MapsServiceErrors, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    name = forms.CharField(label=_("Name"), max_length=120)
    position = forms.IntegerField(label=_("Position"), min_value=0, required=False,
                                  help_text=_("Lower numbers come first."))

    def service_data(self) -> dict:
        data = {"name": self.cleaned_data["name"]}
        if self.cleaned_data.get("position") is not None:
            data["position"] = self.cleaned_data["position"]
        return data
