from django.urls import URLPattern, path

from careline.cmdb import views

app_name = "cmdb"

urlpatterns: list[URLPattern] = [
    path("cmdb/", views.item_list, name="items"),
    path("cmdb/items/<int:item_id>/", views.item_page, name="item"),
    path("cmdb/vendors/", views.vendor_list, name="vendors"),
    path("cmdb/vendors/<int:vendor_id>/", views.vendor_page, name="vendor"),
    path("cmdb/reports/<slug:name>/", views.report_page, name="report"),
]
