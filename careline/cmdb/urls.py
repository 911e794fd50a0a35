from django.urls import URLPattern

app_name = "cmdb"

urlpatterns: list[URLPattern] = []
