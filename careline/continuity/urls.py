from django.urls import path

from careline.continuity import views

app_name = "continuity"

urlpatterns = [
    path("downtime/", views.event_list, name="list"),
    path("downtime/new/", views.event_new, name="new"),
    path("downtime/<int:event_id>/", views.event_page, name="detail"),
    path("downtime/<int:event_id>/update/", views.post_update, name="update"),
    path("downtime/<int:event_id>/end/", views.end_event, name="end"),
    path("downtime/<int:event_id>/close/", views.close_event, name="close"),
    path("downtime/<int:event_id>/tick/<int:item_id>/", views.tick_item, name="tick"),
]
