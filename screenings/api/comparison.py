"""The organizer's screenings side by side, as JSON (the comparison page draws the same)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from screenings import selectors
from screenings.forms.comparison import ComparisonError, comparison_request
from screenings.reports.comparison import MAX_COMPARED, comparison


class ComparisonView(APIView):
    """Two or more of the organizer's screenings side by side, with each one's norms among all of theirs.

    Curves on one axis (``scale=seconds``) or scaled to each stimulus's length (``relative``:
    0 is the start, 1 the end), each screening's summary and metrics over the whole stimulus with
    95% intervals, and per metric its percentile among the organizer's screenings (docs/metrics.md).
    """

    # An id among ``screenings`` that is not the organizer's is answered 404 (screenings.api.schema).
    names_objects_in_query = True

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "screenings", str, required=True,
                description=f"2 to {MAX_COMPARED} of the organizer's screening ids, comma-separated",
            ),
            OpenApiParameter("scale", str, enum=["seconds", "relative"], description="the curves' time axis"),
        ],
        responses=OpenApiTypes.OBJECT,
        operation_id="screenings_comparison",
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        pool = list(selectors.screenings_for_organizer(user=request.user))
        try:
            asked = comparison_request(request.query_params, pool=pool)
        except ComparisonError as error:
            raise ValidationError({"detail": str(error)}) from None
        except Http404:
            raise NotFound("No such screening.") from None
        if asked is None:
            raise ValidationError({"screenings": [f"choose between 2 and {MAX_COMPARED} screenings to compare"]})
        return Response(comparison(asked.screenings, pool=pool, scale=asked.scale))
