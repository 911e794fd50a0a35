from django.urls import path

from careline.training import views

app_name = "training"

urlpatterns = [
    path("training/", views.session_list, name="list"),
    path("training/new/", views.session_form, name="new"),
    path("training/trained/", views.trained_matrix, name="trained"),
    path("training/<int:session_id>/", views.session_page, name="detail"),
    path("training/<int:session_id>/edit/", views.session_form, name="edit"),
    path("training/<int:session_id>/<str:action>/", views.session_action, name="action"),
]
