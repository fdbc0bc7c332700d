"""Settings → Pipelines through the test client: pipelines, stages, order and deletion."""

import pytest
from django.urls import reverse

from accord.identity.models import Membership, Role
from accord.sales import services
from accord.sales.models import Deal, Pipeline, Stage


@pytest.fixture
def pipeline(org, admin, in_org):
    with in_org(org):
        return services.create_pipeline(org, admin.user, name="New business")


def stage_names(org, pipeline, in_org) -> list[str]:
    with in_org(org):
        return list(pipeline.stages.order_by("position").values_list("name", flat=True))


def test_settings_link_to_pipelines_for_those_who_manage_them(org, admin, member, client_for):
    admin_page = client_for(admin).get(reverse("identity:settings")).content.decode()
    member_page = client_for(member).get(reverse("identity:settings")).content.decode()

    assert f'<a href="{reverse("sales:pipeline_list")}">Pipelines</a>' in admin_page
    assert reverse("sales:pipeline_list") not in member_page
    assert client_for(member).get(reverse("sales:pipeline_list")).status_code == 403


def test_a_new_pipeline_gets_the_usual_stages(org, admin, client_for, in_org):
    response = client_for(admin).post(reverse("sales:pipeline_list"), {"name": "Renewals"})

    with in_org(org):
        pipeline = Pipeline.objects.get(name="Renewals")
    assert response["Location"] == reverse("sales:pipeline_edit", args=[pipeline.pk])
    assert stage_names(org, pipeline, in_org) == [
        "Qualification", "Meeting", "Proposal", "Negotiation", "Won", "Lost"]


def test_a_duplicate_pipeline_name_is_shown_next_to_the_field(org, admin, client_for,
                                                              pipeline):
    response = client_for(admin).post(reverse("sales:pipeline_list"),
                                      {"name": "new business"})

    assert response.status_code == 422
    assert '<p class="error" id="id_name_error">A pipeline with this name exists.</p>' in (
        response.content.decode())


def test_rename_make_default_and_deactivate(org, admin, client_for, pipeline, in_org):
    client = client_for(admin)
    with in_org(org):
        other = services.create_pipeline(org, admin.user, name="Partners")

    client.post(reverse("sales:pipeline_edit", args=[other.pk]),
                {"name": "Partner deals", "version": other.version})
    client.post(reverse("sales:pipeline_state", args=[other.pk]), {"action": "default"})
    refused = client.post(reverse("sales:pipeline_state", args=[other.pk]),
                          {"action": "deactivate"}, follow=True)
    client.post(reverse("sales:pipeline_state", args=[pipeline.pk]), {"action": "deactivate"})

    with in_org(org):
        other.refresh_from_db()
        pipeline.refresh_from_db()
    assert (other.name, other.is_default, other.is_active) == ("Partner deals", True, True)
    assert (pipeline.is_default, pipeline.is_active) == (False, False)
    assert "Make another pipeline the default first." in refused.content.decode()


def test_a_stage_is_added_before_the_closed_stages_and_moved_up(org, admin, client_for,
                                                               pipeline, in_org):
    client = client_for(admin)

    client.post(reverse("sales:stage_add", args=[pipeline.pk]),
                {"name": "Trial", "kind": "open", "probability": "60", "rot_after_days": "14"})
    with in_org(org):
        trial = pipeline.stages.get(name="Trial")
    client.post(reverse("sales:stage_reorder", args=[trial.pk]), {"direction": "up"})

    assert stage_names(org, pipeline, in_org) == [
        "Qualification", "Meeting", "Proposal", "Trial", "Negotiation", "Won", "Lost"]
    assert (trial.probability, trial.rot_after_days) == (60, 14)


def test_editing_a_stage_shows_service_errors_next_to_the_field(org, admin, client_for,
                                                                pipeline, in_org):
    with in_org(org):
        meeting = pipeline.stages.get(name="Meeting")

    response = client_for(admin).post(reverse("sales:stage_edit", args=[meeting.pk]), {
        "name": "Proposal", "kind": "open", "probability": "30", "version": meeting.version})
    saved = client_for(admin).post(reverse("sales:stage_edit", args=[meeting.pk]), {
        "name": "Demo", "kind": "open", "probability": "30", "reason_required": "on",
        "version": meeting.version})

    assert response.status_code == 422
    assert ('<p class="error" id="id_name_error">This pipeline has a stage with this name.</p>'
            in response.content.decode())
    assert saved.status_code == 302
    with in_org(org):
        meeting.refresh_from_db()
    assert (meeting.name, meeting.probability, meeting.reason_required) == ("Demo", 30, True)


def test_deleting_a_stage_with_deals_offers_to_move_them(org, admin, client_for, pipeline,
                                                         in_org):
    with in_org(org):
        first = pipeline.stages.get(name="Qualification")
        meeting = pipeline.stages.get(name="Meeting")
        deal = services.create_deal(org, admin.user, data={"name": "Sitting"})
    client = client_for(admin)
    url = reverse("sales:stage_delete", args=[first.pk])

    page = client.get(url).content.decode()
    refused = client.post(url, {})
    deleted = client.post(url, {"move_to": meeting.pk})

    assert "1 deal is in this stage." in page
    assert f'<option value="{meeting.pk}">Meeting</option>' in page
    assert refused.status_code == 409
    assert "1 deal(s) are in this stage. Choose a stage to move them to first." in (
        refused.content.decode())
    assert deleted.status_code == 302
    with in_org(org):
        assert not Stage.objects.filter(pk=first.pk).exists()
        assert Deal.objects.get(pk=deal.pk).stage == meeting


def test_another_organizations_pipeline_and_stage_answer_404(org, other_org, admin,
                                                             client_for, pipeline, in_org):
    with in_org(other_org):
        stranger = Membership.objects.get(organization=other_org, role=Role.ADMIN)
    client = client_for(stranger)
    with in_org(org):
        stage = pipeline.stages.first()

    assert client.get(reverse("sales:pipeline_edit", args=[pipeline.pk])).status_code == 404
    assert client.get(reverse("sales:stage_edit", args=[stage.pk])).status_code == 404
    assert client.post(reverse("sales:stage_reorder", args=[stage.pk]),
                       {"direction": "up"}).status_code == 404
    assert client.post(reverse("sales:stage_delete", args=[stage.pk])).status_code == 404
