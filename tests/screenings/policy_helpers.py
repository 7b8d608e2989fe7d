"""Reading a response's Content-Security-Policy: directives by name, whatever order django-csp wrote them in."""

from django.http import HttpResponse


def directives(response: HttpResponse) -> dict[str, list[str]]:
    """The policy's directives, each with its sources in the order written.

    django-csp writes the directives in the order of a set, which changes from process to
    process, so a test never looks for one directive next to another.
    """
    policy = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}
