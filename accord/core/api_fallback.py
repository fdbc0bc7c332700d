"""API answers that never reach a handler still come as problem documents.

Ninja answers errors raised inside its handlers; a path no route matches
(404) or a method a route does not take (405) is answered by Django before
any handler runs, as HTML. A client of `/api/` reads every error the same
way, so those two are rewritten here into RFC 9457 documents.
"""

from accord.errors import problem_response

API_PREFIX = "/api/"
FALLBACKS = {  # status: (code, title, detail)
    404: ("not-found", "Not found", "No API resource at this address."),
    405: ("method-not-allowed", "Method not allowed",
          "This address does not take {method}; it takes {allowed}."),
}


class ApiProblemMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith(API_PREFIX) or response.status_code not in FALLBACKS:
            return response
        if "json" in response.get("Content-Type", ""):
            return response
        code, title, detail = FALLBACKS[response.status_code]
        allowed = response.get("Allow", "")
        problem = problem_response(
            response.status_code, code, title,
            detail.format(method=request.method, allowed=allowed or "nothing"))
        if allowed:
            problem["Allow"] = allowed
        return problem
