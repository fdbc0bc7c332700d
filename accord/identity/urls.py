from django.contrib.auth import views as auth_views
from django.urls import path

from accord.customers import settings_views as custom_fields

from . import organization_views, views

app_name = "identity"
urlpatterns = [
    path("login", views.SignInView.as_view(), name="login"),
    path("logout", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset", views.ResetRequestView.as_view(), name="password_reset"),
    path("password-reset/sent", views.ResetSentView.as_view(), name="password_reset_done"),
    path("password-reset/<uidb64>/<token>", views.ResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("password-reset/done", views.ResetCompleteView.as_view(),
         name="password_reset_complete"),
    path("invitations/<str:token>", views.invitation_accept, name="invitation_accept"),
    path("profile", views.profile, name="profile"),
    path("profile/password", views.PasswordChangeView.as_view(), name="password_change"),
    path("profile/sign-out-everywhere", views.sign_out_everywhere,
         name="sign_out_everywhere"),
    path("switch-organization", views.switch_organization, name="switch_organization"),
    path("settings", views.settings_index, name="settings"),
    path("settings/members/", views.member_list, name="member_list"),
    path("settings/members/invite", views.member_invite, name="member_invite"),
    path("settings/members/<int:pk>/", views.member_edit, name="member_edit"),
    path("settings/members/<int:pk>/deactivate", views.member_deactivate,
         name="member_deactivate"),
    path("settings/members/<int:pk>/reactivate", views.member_reactivate,
         name="member_reactivate"),
    path("settings/invitations/<int:pk>/revoke", views.invitation_revoke,
         name="invitation_revoke"),
    path("settings/teams/", views.team_list, name="team_list"),
    path("settings/teams/new", views.team_create, name="team_create"),
    path("settings/teams/<int:pk>/", views.team_edit, name="team_edit"),
    path("settings/teams/<int:pk>/delete", views.team_delete, name="team_delete"),
    path("settings/organization/", organization_views.organization_edit,
         name="organization_edit"),
    path("settings/api-tokens/", views.token_list, name="token_list"),
    path("settings/api-tokens/<int:pk>/revoke", views.token_revoke, name="token_revoke"),
    path("settings/custom-fields/", custom_fields.customfield_list, name="customfield_list"),
    path("settings/custom-fields/new", custom_fields.customfield_create,
         name="customfield_create"),
    path("settings/custom-fields/<int:pk>/", custom_fields.customfield_edit,
         name="customfield_edit"),
    path("settings/custom-fields/<int:pk>/deactivate", custom_fields.customfield_deactivate,
         name="customfield_deactivate"),
    path("settings/custom-fields/<int:pk>/reactivate", custom_fields.customfield_reactivate,
         name="customfield_reactivate"),
]
