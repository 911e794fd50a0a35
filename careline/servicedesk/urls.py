from django.urls import URLPattern

app_name = "servicedesk"

urlpatterns: list[URLPattern] = []
