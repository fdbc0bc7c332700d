"""Satisfaction pages: the customer's answer page (no sign-in) and the team's report."""

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from accord.errors import InvalidInput
from accord.identity.permissions import permission_required
from accord.web import apply_errors

from . import satisfaction
from .sla_forms import ReportFilterForm, SurveyAnswerForm


@never_cache
def survey_answer(request, token: str):
    """GET shows the rating chosen by the link to confirm, with room for a comment; POST records.

    The page asks for no sign-in: the token in the address is the key. An
    unknown token answers 404 with the same page for every kind of miss.
    """
    survey = satisfaction.find_survey(token)
    if survey is None:
        return render(request, "service/satisfaction/survey_missing.html", status=404)
    if request.method == "POST":
        form = SurveyAnswerForm(request.POST)
        if form.is_valid():
            try:
                satisfaction.record_answer(survey, form.cleaned_data)
            except InvalidInput as exc:
                apply_errors(form, exc, form.field_for_error)
            else:
                return render(request, "service/satisfaction/survey_thanks.html",
                              {"survey": survey})
        return render(request, "service/satisfaction/survey_answer.html",
                      {"survey": survey, "form": form}, status=422)
    chosen = request.GET.get("rating") or survey.rating
    form = SurveyAnswerForm(initial={"rating": chosen, "comment": survey.comment})
    return render(request, "service/satisfaction/survey_answer.html",
                  {"survey": survey, "form": form})


@permission_required("service.manage")
def satisfaction_report(request):
    form = ReportFilterForm(request.GET or None)
    start = end = None
    status = 200
    if form.is_bound:
        if form.is_valid():
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        else:
            status = 422
    data = satisfaction.report(start=start, end=end, zone=timezone.get_current_timezone())
    return render(request, "service/satisfaction/satisfaction_report.html",
                  {"form": form, **data}, status=status)
