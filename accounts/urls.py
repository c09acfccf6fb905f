from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("two-factor/", views.two_factor, name="two_factor"),
    path("two-factor/enrol/", views.enrol, name="enrol"),
    path("two-factor/backup-codes/", views.regenerate_backup_codes, name="backup_codes"),
    path("sign-out-everywhere/", views.sign_out_everywhere, name="sign_out_everywhere"),
]
