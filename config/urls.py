from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from designer import views as designer_views

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/token/<str:token>/", designer_views.token_login, name="token-login"),
    path("admin/", admin.site.urls),
    path("gw/", include("hosting.gateway.urls")),
    path("", include("designer.urls")),
]
