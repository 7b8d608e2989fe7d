from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

admin.site.site_header = "reactionsite organizers"
admin.site.site_title = "reactionsite"
admin.site.index_title = "Screenings and their participants"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("screenings.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("", include("screenings.urls")),
]
