"""The API's schema and its documentation pages: for organizers only, and under the site's CSP.

The schema answers organizers (token or session, SPECTACULAR_SETTINGS' SERVE_PERMISSIONS); the
pages send anyone else to the login. Swagger UI's configuration is fetched as a script of its own
(``?script``) instead of inlined, so no page needs an inline script; both pages' bundles put styles
inline, which is all the policy relaxes for them.
"""

from __future__ import annotations

from csp.decorators import csp_update
from django.contrib.admin.views.decorators import staff_member_required
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

INLINE_STYLES = {"style-src": ["'unsafe-inline'"]}

schema = SpectacularAPIView.as_view()
swagger_ui = staff_member_required(
    csp_update(INLINE_STYLES)(SpectacularSwaggerSplitView.as_view(url_name="api-schema"))
)
redoc = staff_member_required(csp_update(INLINE_STYLES)(SpectacularRedocView.as_view(url_name="api-schema")))
