from django.urls import path

from . import views

urlpatterns = [
    # Page Views
    path("models/<int:model_id>/etl/", views.model_etl, name="model_etl"),
]
