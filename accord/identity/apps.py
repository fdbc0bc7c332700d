from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "accord.identity"
    label = "identity"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from .middleware import SESSION_GENERATION_KEY
        from .sessions import forget_session, remember_session

        def remember_sign_in(sender, request, user, **kwargs):
            request.session[SESSION_GENERATION_KEY] = user.session_generation
            remember_session(request, user)

        def forget_signed_out(sender, request, user, **kwargs):
            forget_session(request)

        # Held strongly: the receivers are local functions, and a weak
        # reference would let them vanish as soon as this method returns.
        user_logged_in.connect(remember_sign_in, weak=False,
                               dispatch_uid="accord.session_generation")
        user_logged_out.connect(forget_signed_out, weak=False,
                                dispatch_uid="accord.forget_session")
