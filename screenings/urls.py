from django.urls import path

from screenings.capture import http as capture
from screenings.views import analyses, comparison, organizer, participant, reports, tokens

urlpatterns = [
    path("organizer/screenings/<int:screening_id>/live/", organizer.live_view, name="organizer-live"),
    path("organizer/screenings/<int:screening_id>/stimulus/", organizer.stimulus, name="organizer-stimulus"),
    path("organizer/screenings/<int:screening_id>/report/", reports.report_page, name="organizer-report"),
    path("organizer/compare/", comparison.comparison_page, name="organizer-compare"),
    path(
        "organizer/screenings/<int:screening_id>/report/charts/<slug:name>.png", reports.chart, name="organizer-chart"
    ),
    path(
        "organizer/screenings/<int:screening_id>/report/download/<slug:identifier>/",
        reports.download,
        name="organizer-download",
    ),
    path(
        "organizer/screenings/<int:screening_id>/participants/<int:participant_id>/",
        reports.participant_page,
        name="organizer-participant",
    ),
    path(
        "organizer/screenings/<int:screening_id>/participants/<int:participant_id>/timeline.png",
        reports.participant_chart,
        name="organizer-participant-chart",
    ),
    path(
        "organizer/screenings/<int:screening_id>/participants/<int:participant_id>/exclusion/",
        reports.participant_exclusion,
        name="organizer-participant-exclusion",
    ),
    path("organizer/api-token/", tokens.api_token_page, name="organizer-api-token"),
    path("organizer/analyses/", analyses.analyses_page, name="organizer-analyses"),
    path("organizer/analyses/images/", analyses.images_upload, name="organizer-analyses-images"),
    path("organizer/analyses/video/", analyses.video_upload, name="organizer-analyses-video"),
    path("organizer/analyses/labelled/", analyses.labelled_upload, name="organizer-analyses-labelled"),
    path("organizer/analyses/<int:analysis_id>/", analyses.analysis_page, name="organizer-analysis"),
    path("organizer/analyses/<int:analysis_id>/cancel/", analyses.analysis_cancel, name="organizer-analysis-cancel"),
    path("organizer/analyses/<int:analysis_id>/delete/", analyses.analysis_delete, name="organizer-analysis-delete"),
    path(
        "organizer/analyses/<int:analysis_id>/files/<path:name>", analyses.analysis_file, name="organizer-analysis-file"
    ),
    path(
        "organizer/screenings/<int:screening_id>/recordings/",
        analyses.recording_upload,
        name="organizer-recording-upload",
    ),
    path("api/capture/<str:token>/frames/", capture.frame_post, name="capture-frame"),
    path("s/<slug:slug>/join/", participant.join, name="screening-join"),
    path("p/<str:token>/", participant.participant_entry, name="participant-entry"),
    path("p/<str:token>/consent/", participant.consent, name="participant-consent"),
    path("p/<str:token>/before/", participant.before_questionnaire, name="participant-before"),
    path("p/<str:token>/camera/", participant.camera_check, name="participant-camera"),
    path("p/<str:token>/camera/check/", participant.camera_face_check, name="participant-camera-check"),
    path("p/<str:token>/watch/", participant.watch, name="participant-watch"),
    path("p/<str:token>/watch/position/", participant.watch_position, name="participant-watch-position"),
    path("p/<str:token>/watch/finished/", participant.watch_finished, name="participant-watch-finished"),
    path("p/<str:token>/stimulus/", participant.stimulus, name="participant-stimulus"),
    path("p/<str:token>/after/", participant.after_questionnaire, name="participant-after"),
    path("p/<str:token>/done/", participant.done, name="participant-done"),
    path("p/<str:token>/ended/", participant.ended, name="participant-ended"),
    path("p/<str:token>/withdraw/", participant.withdraw, name="participant-withdraw"),
]
