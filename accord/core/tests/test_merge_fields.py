"""Merge fields render only the values offered, and refuse tags that reach further."""

import pytest

from accord import merge_fields
from accord.errors import InvalidInput

VALUES = {"contact": {"first_name": "Zoë", "last_name": "<b>Ng</b>"}, "company": {}}


def test_values_fill_in_and_missing_ones_fall_back_to_their_default():
    text = 'Hi {{ contact.first_name }} {{ company.name|default:"friend" }}{{ nope.x }}!'

    assert merge_fields.render(text, VALUES) == "Hi Zoë friend!"


def test_plain_text_is_not_escaped_but_html_is():
    assert merge_fields.render("{{ contact.last_name }}", VALUES) == "<b>Ng</b>"
    assert merge_fields.render("{{ contact.last_name }}", VALUES, html=True) == \
        "&lt;b&gt;Ng&lt;/b&gt;"


def test_conditions_are_allowed():
    text = "{% if contact.first_name %}Dear {{ contact.first_name }}{% else %}Hello{% endif %}"

    assert merge_fields.render(text, VALUES) == "Dear Zoë"


@pytest.mark.parametrize("text", [
    "{% for a in 'xyz' %}{% for b in 'xyz' %}x{% endfor %}{% endfor %}",
    "{% debug %}", "{% include 'base.html' %}", "{% load static %}", "{% url 'core:home' %}",
    "{% extends 'base.html' %}", "{% now 'Y' %}", "{% csrf_token %}",
])
def test_tags_that_reach_beyond_the_values_are_refused(text):
    with pytest.raises(InvalidInput) as caught:
        merge_fields.render(text, VALUES)

    assert "cannot be used here" in caught.value.errors[0]["message"]


def test_private_attributes_stay_out_of_reach():
    with pytest.raises(InvalidInput) as caught:
        merge_fields.render("{{ contact.__class__ }}", VALUES)

    assert "merge-field mistake" in caught.value.errors[0]["message"]


def test_a_broken_template_names_the_field():
    with pytest.raises(InvalidInput) as caught:
        merge_fields.render("{% if %}", VALUES, field="subject")

    assert caught.value.errors[0]["field"] == "subject"
