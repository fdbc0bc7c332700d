from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "accord.identity"
    label = "identity"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from .middleware import SESSION_GENERATION_KEY

        def remember_generation(sender, request, user, **kwargs):
            request.session[SESSION_GENERATION_KEY] = user.session_generation

        user_logged_in.connect(remember_generation, dispatch_uid="accord.session_generation")
