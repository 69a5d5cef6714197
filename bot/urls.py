from django.urls import path

from bot import views

app_name = "bot"

urlpatterns = [
    path("events", views.events, name="events"),
    # bolt matches these paths itself (OAuthSettings' install_path, redirect_uri_path)
    path("install", views.oauth, name="install"),
    path("oauth_redirect", views.oauth, name="oauth_redirect"),
]
