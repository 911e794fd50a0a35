from django.urls import path

from careline.continuity import recovery_views, views

app_name = "continuity"

urlpatterns = [
    path("downtime/", views.event_list, name="list"),
    path("downtime/new/", views.event_new, name="new"),
    path("downtime/<int:event_id>/", views.event_page, name="detail"),
    path("downtime/<int:event_id>/update/", views.post_update, name="update"),
    path("downtime/<int:event_id>/end/", views.end_event, name="end"),
    path("downtime/<int:event_id>/close/", views.close_event, name="close"),
    path("downtime/<int:event_id>/cancel/", views.cancel_event, name="cancel"),
    path("downtime/<int:event_id>/tick/<int:item_id>/", views.tick_item, name="tick"),
    path("recovery/", recovery_views.readiness_list, name="recovery"),
    path("recovery/<str:code>/", recovery_views.service_page, name="recovery_service"),
    path("recovery/<str:code>/plan/", recovery_views.save_plan, name="recovery_plan"),
    path("recovery/<str:code>/drills/", recovery_views.record_drill, name="recovery_drill"),
    path(
        "recovery/<str:code>/jobs/<int:job_id>/restore-tests/",
        recovery_views.record_restore_test,
        name="recovery_restore_test",
    ),
]
