"""Forms of the import wizard: upload, map columns, choose how duplicates are handled."""

from django import forms
from django.utils.translation import gettext_lazy as _

from . import entities
from .models import DuplicatePolicy

ENCODINGS = [
    ("utf-8", _("UTF-8 (Unicode)")),
    ("cp1252", _("Windows-1252 (Western European, Excel “ANSI”)")),
    ("iso-8859-1", _("ISO-8859-1 (Latin-1)")),
    ("iso-8859-15", _("ISO-8859-15 (Latin-9, with €)")),
    ("cp1250", _("Windows-1250 (Central European)")),
    ("cp1251", _("Windows-1251 (Cyrillic)")),
    ("utf-16", _("UTF-16")),
    ("mac_roman", _("Mac Roman")),
]
DELIMITERS = [(",", _("Comma ,")), (";", _("Semicolon ;")), ("\t", _("Tab")),
              ("|", _("Vertical bar |"))]
DATE_ORDERS = [("dmy", _("Day first: 31/12/2025")), ("mdy", _("Month first: 12/31/2025")),
               ("ymd", _("Year first: 2025-12-31"))]
NUMBER_STYLES = [("1,234.56", _("1,234.56 (point for decimals)")),
                 ("1.234,56", _("1.234,56 (comma for decimals)"))]


class UploadForm(forms.Form):
    file = forms.FileField(label=_("File"), help_text=_(
        "CSV (any encoding and separator), Excel workbook (.xlsx) or vCard (.vcf)."))
    entity = forms.ChoiceField(label=_("The rows are"), choices=())

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["entity"].choices = entities.choices_for(org)


class ReadingForm(forms.Form):
    """How the file is read: changing one of these reads it again."""

    encoding = forms.ChoiceField(label=_("Encoding"), choices=ENCODINGS, required=False)
    delimiter = forms.ChoiceField(label=_("Column separator"), choices=DELIMITERS,
                                  required=False)
    sheet = forms.ChoiceField(label=_("Worksheet"), choices=(), required=False)

    def __init__(self, *args, job, **kwargs):
        options = job.options
        initial = {"encoding": options.get("encoding"), "delimiter": options.get("delimiter"),
                   "sheet": options.get("sheet")}
        super().__init__(*args, initial=initial, **kwargs)
        encodings = list(ENCODINGS)
        if options.get("encoding") and options["encoding"] not in dict(encodings):
            encodings.insert(0, (options["encoding"], options["encoding"]))
        self.fields["encoding"].choices = encodings
        self.fields["sheet"].choices = [(name, name) for name in options.get("sheet_names", [])]
        if job.kind != "csv":
            del self.fields["encoding"], self.fields["delimiter"]
        if job.kind != "xlsx":
            del self.fields["sheet"]


class MappingForm(forms.Form):
    """One select per column, plus the formats and an optional name to save the mapping."""

    date_order = forms.ChoiceField(label=_("Dates whose order the column does not show"),
                                   choices=DATE_ORDERS)
    number_style = forms.ChoiceField(label=_("Numbers whose format the column does not show"),
                                     choices=NUMBER_STYLES)
    mapping_name = forms.CharField(
        label=_("Save this mapping as"), required=False, max_length=80,
        help_text=_("Optional. A file with the same columns is mapped this way next time."))

    def __init__(self, *args, job, targets, **kwargs):
        options = job.options
        initial = {"date_order": options.get("date_order") or "dmy",
                   "number_style": options.get("number_style") or "1,234.56"}
        super().__init__(*args, initial=initial, **kwargs)
        choices = [("", _("Do not import"))] + [(target.key, target.label) for target in targets]
        mapping = options.get("mapping") or {}
        self.columns = []
        for index, header in enumerate(options.get("headers") or []):
            name = f"column_{index}"
            self.fields[name] = forms.ChoiceField(label=header, choices=choices, required=False,
                                                  initial=mapping.get(header, ""))
            self.columns.append((header, name))

    def mapping(self) -> dict:
        return {header: self.cleaned_data[name] for header, name in self.columns
                if self.cleaned_data.get(name)}


class RunForm(forms.Form):
    duplicate_policy = forms.ChoiceField(label=_("Rows that match an existing record"),
                                         choices=DuplicatePolicy.choices,
                                         widget=forms.RadioSelect)
    create_missing_links = forms.BooleanField(
        label=_("Create companies the file names that do not exist yet"), required=False)

    def __init__(self, *args, offers_policy: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not offers_policy:
            del self.fields["duplicate_policy"]
