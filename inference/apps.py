from django.apps import AppConfig


class InferenceConfig(AppConfig):
    """Registered only so Django finds the training and evaluation commands; it has no models."""

    name = "inference"
    verbose_name = "Emotion inference"
