from django.urls import URLPattern, path

from careline.knowledge import views

app_name = "knowledge"

urlpatterns: list[URLPattern] = [
    path("kb/", views.article_list, name="list"),
    path("kb/new/", views.edit, name="new"),
    path("kb/admin/", views.admin, name="admin"),
    path("kb/<int:article_id>/", views.article_page, name="article"),
    path("kb/<int:article_id>/edit/", views.edit, name="edit"),
    path("kb/<int:article_id>/feedback/", views.feedback, name="feedback"),
    path("kb/<int:article_id>/solved/", views.solved, name="solved"),
]
