"""The scenes of a screening's stimulus: created, changed and deleted here only."""

from __future__ import annotations

from typing import Any

from screenings.models import Scene, Screening


def scene_create(*, screening: Screening, **fields: Any) -> Scene:
    """Add a scene to ``screening``."""
    scene = Scene(screening=screening, **fields)
    scene.clean()
    scene.save()
    return scene


def scene_update(*, scene: Scene, **changes: Any) -> Scene:
    """Change the given fields of a scene and save only those."""
    for field, value in changes.items():
        setattr(scene, field, value)
    scene.clean()
    if changes:
        scene.save(update_fields=list(changes))
    return scene


def scene_delete(*, scene: Scene) -> None:
    """Delete a scene; the samples are not touched (scenes only group media time in reports)."""
    scene.delete()
