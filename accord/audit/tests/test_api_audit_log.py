from accord.customers import services
from accord.identity.models import Role


def make_contact(org, actor, in_org, **data):
    with in_org(org):
        return services.create_contact(org, actor, data=data)


def test_audit_log_lists_entries_newest_first_with_who_what_and_from_where(
    org, admin, member, in_org, api_client_for
):
    make_contact(org, admin.user, in_org, first_name="Ada")
    client = api_client_for(member)
    bea = client.post("/api/v1/contacts", {"first_name": "Bea"},
                      content_type="application/json").json()

    response = api_client_for(admin).get("/api/v1/audit-log", {"entity": "contact"})

    assert response.status_code == 200
    newest = response.json()["items"][0]
    newest.pop("created_at")
    newest.pop("id")
    assert newest == {
        "actor_id": member.user_id, "actor_label": member.user.email, "via": "api",
        "action": "create", "entity": "contact", "object_id": bea["id"], "object_repr": "Bea",
        "ip": "127.0.0.1",
        "changes": [{"field": "owner", "old": None, "new": member.user_id},
                    {"field": "first_name", "old": None, "new": "Bea"},
                    {"field": "lifecycle_stage", "old": None, "new": "lead"}],
    }
    assert [e["object_repr"] for e in response.json()["items"]] == ["Bea", "Ada"]


def test_audit_log_filters_by_record_actor_action_and_time(
    org, admin, member, in_org, api_client_for
):
    ada = make_contact(org, admin.user, in_org, first_name="Ada")
    make_contact(org, member.user, in_org, first_name="Bea")
    client = api_client_for(admin)
    client.patch(f"/api/v1/contacts/{ada.pk}", {"version": 1, "title": "CTO"},
                 content_type="application/json")

    def reprs(**params) -> list[tuple[str, str]]:
        response = client.get("/api/v1/audit-log", params)
        assert response.status_code == 200, response.content
        return [(e["object_repr"], e["action"]) for e in response.json()["items"]]

    assert reprs(entity="contact", object_id=ada.pk) == [("Ada", "update"), ("Ada", "create")]
    assert reprs(entity="contact", actor_id=member.user_id) == [("Bea", "create")]
    assert reprs(entity="contact", action="update") == [("Ada", "update")]
    assert reprs(since="2000-01-01T00:00:00Z", until="2000-01-02T00:00:00Z") == []
    assert reprs(entity="contact", ordering="created_at", limit=1) == [("Ada", "create")]


def test_audit_log_is_for_admins_and_managers_only(org, member, make_member, api_client_for):
    manager = make_member(org, Role.MANAGER)

    refused = api_client_for(member).get("/api/v1/audit-log")
    allowed = api_client_for(manager).get("/api/v1/audit-log")

    assert refused.status_code == 403
    assert refused.json()["detail"] == "Your role does not allow this action."
    assert allowed.status_code == 200


def test_audit_log_shows_nothing_of_another_organization(
    org, other_org, admin, in_org, api_client_for
):
    make_contact(other_org, None, in_org, first_name="Eve")

    response = api_client_for(admin).get("/api/v1/audit-log", {"entity": "contact"})

    assert response.json() == {"items": [], "next": None}


def test_audit_log_with_an_unknown_action_answers_422(admin, api_client_for):
    response = api_client_for(admin).get("/api/v1/audit-log", {"action": "explode"})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "action"
