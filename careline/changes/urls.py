from django.urls import path

from careline.changes import views

app_name = "changes"

urlpatterns = [
    path("changes/", views.change_list, name="list"),
    path("changes/calendar/", views.change_calendar, name="calendar"),
    path("changes/<int:change_id>/", views.change_page, name="detail"),
    path("changes/<int:change_id>/<str:action>/", views.change_action, name="action"),
]
