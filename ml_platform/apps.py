from django.apps import AppConfig


class MlPlatformConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ml_platform"
    verbose_name = "ML platform"
