from django.urls import path

from careline.monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("monitoring/", views.monitor_list, name="list"),
    path("monitoring/board/", views.board, name="board"),
    path("monitoring/new/", views.monitor_new, name="new"),
    path("monitoring/<int:monitor_id>/", views.monitor_page, name="detail"),
    path("monitoring/<int:monitor_id>/edit/", views.monitor_edit, name="edit"),
    path("monitoring/<int:monitor_id>/latency.svg", views.latency_chart, name="latency-chart"),
    path("monitoring/<int:monitor_id>/uptime.svg", views.uptime_chart, name="uptime-chart"),
]
