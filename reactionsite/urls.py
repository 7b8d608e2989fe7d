from django.contrib import admin
from django.urls import include, path

from screenings.admin.login import OrganizerLoginForm, organizer_login
from screenings.api import docs

admin.site.site_header = "reactionsite organizers"
admin.site.site_title = "reactionsite"
admin.site.index_title = "Screenings and their participants"
admin.site.login_form = OrganizerLoginForm

urlpatterns = [
    # Before the admin's own: the same login page, limited (screenings.admin.login).
    path("admin/login/", organizer_login, name="organizer-login"),
    path("admin/", admin.site.urls),
    path("api/", include("screenings.api.urls")),
    path("api/schema/", docs.schema, name="api-schema"),
    path("api/docs/", docs.swagger_ui, name="api-docs"),
    path("api/redoc/", docs.redoc, name="api-redoc"),
    path("", include("screenings.urls")),
]
