from django.urls import include, path
from rest_framework.routers import DefaultRouter

from screenings.api import analyses, comparison, views

router = DefaultRouter()
router.register("screenings", views.ScreeningViewSet, basename="screening")
router.register("analyses", analyses.MediaAnalysisViewSet, basename="api-analysis")

nested = DefaultRouter(trailing_slash=True)
nested.include_root_view = False
nested.register("questions", views.QuestionViewSet, basename="screening-question")
nested.register("scenes", views.SceneViewSet, basename="screening-scene")
nested.register("segments", views.SegmentViewSet, basename="screening-segment")
nested.register("participants", views.ParticipantViewSet, basename="screening-participant")
nested.register("answers", views.AnswerViewSet, basename="screening-answer")

urlpatterns = [
    path("", include(router.urls)),
    path("comparison/", comparison.ComparisonView.as_view(), name="api-comparison"),
    path("screenings/<int:screening_pk>/report/", views.ReportView.as_view(), name="api-report"),
    path(
        "screenings/<int:screening_pk>/report/<slug:identifier>/",
        views.ReportDownloadView.as_view(),
        name="api-report-download",
    ),
    path(
        "screenings/<int:screening_pk>/recordings/", analyses.RecordingUploadView.as_view(), name="api-recording-upload"
    ),
    path("screenings/<int:screening_pk>/", include(nested.urls)),
]
