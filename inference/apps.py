from django.apps import AppConfig


class InferenceConfig(AppConfig):
    """Django's view of the package: the training and analysis commands, and serving configured from settings."""

    name = "inference"
    verbose_name = "Emotion inference"

    def ready(self) -> None:
        from django.conf import settings

        from inference.config import configure_serving

        # Settings built it once at start-up, where a bad value stops the process. Without one
        # (another settings module), serving reads the environment itself on first use.
        config = getattr(settings, "SERVING", None)
        if config is not None:
            configure_serving(config)
