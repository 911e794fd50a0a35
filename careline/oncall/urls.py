from careline.oncall.views import config, delivery, pages, schedules

app_name = "oncall"

urlpatterns = [
    *schedules.urlpatterns,
    *config.urlpatterns,
    *pages.urlpatterns,
    *delivery.urlpatterns,
]
