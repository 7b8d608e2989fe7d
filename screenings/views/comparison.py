"""Organizers' screenings side by side, with each one's norms among their own screenings."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from screenings import selectors
from screenings.forms.comparison import ComparisonError, comparison_request
from screenings.reports.comparison import MAX_COMPARED, SCALES, comparison
from screenings.reports.metrics import CURVES


@staff_member_required
@require_GET
def comparison_page(request: HttpRequest) -> HttpResponse:
    pool = list(selectors.screenings_for_organizer(user=request.user))
    context = {"pool": pool, "max_compared": MAX_COMPARED, "scales": SCALES, "scale": SCALES[0], "chosen": set()}
    try:
        asked = comparison_request(request.GET, pool=pool)
    except ComparisonError as error:
        return render(request, "screenings/organizer/compare.html", {**context, "error": str(error)}, status=400)
    if asked is not None:
        compared = comparison(asked.screenings, pool=pool, scale=asked.scale)
        context.update(
            scale=asked.scale,
            chosen={screening.pk for screening in asked.screenings},
            comparison=compared,
            rows=[_table_row(entry) for entry in compared["screenings"]],
        )
    return render(request, "screenings/organizer/compare.html", context)


def _table_row(entry: dict[str, Any]) -> dict[str, Any]:
    """A screening's row of the metrics table: each metric's estimate beside its percentile."""
    cells = [{"name": name, **entry["metrics"][name], **entry["norms"][name]} for name in CURVES]
    summary = entry["summary"]
    top = max(summary.items(), key=lambda item: item[1]) if summary else None
    return {"id": entry["id"], "title": entry["title"], "duration": entry["duration"],
            "viewers": entry["metrics"]["viewers"], "cells": cells, "top_reaction": top}  # fmt: skip
