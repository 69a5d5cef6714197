from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from portal import views
from portal.throttle import ThrottledLoginView
from portal.views import (
    accounts,
    connections,
    credentials,
    exam,
    hr,
    learn,
    people,
    remediation,
    spend,
)

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    # Accounts
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/signup/", accounts.signup, name="signup"),
    path(
        "accounts/password-reset/",
        auth_views.PasswordResetView.as_view(
            template_name="portal/auth/password_reset_form.html",
            success_url=reverse_lazy("portal:password_reset_done"),
            email_template_name="portal/auth/password_reset_email.txt",
            subject_template_name="portal/auth/password_reset_subject.txt",
        ),
        name="password_reset",
    ),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(
            template_name="portal/auth/password_reset_done.html"
        ),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="portal/auth/password_reset_confirm.html",
            success_url=reverse_lazy("portal:password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="portal/auth/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
    # Learning
    path("learn/", learn.catalogue, name="catalogue"),
    path("learn/dashboard/", learn.dashboard, name="dashboard"),
    path("dashboard/", spend.spend_dashboard, name="spend"),
    path("dashboard/org/", spend.org_dashboard, name="spend_org"),
    path("dashboard/records/", spend.records, name="spend_records"),
    path("dashboard/records.csv", spend.records_csv, name="spend_records_csv"),
    path("dashboard/org/board-report/", spend.board_report_download, name="board_report"),
    path("connections/", connections.connections_page, name="connections"),
    path("remediation/", remediation.actions_list, name="remediation"),
    path("remediation/<int:action_id>/", remediation.action_detail, name="remediation_action"),
    path(
        "remediation/<int:action_id>/<str:decision>/",
        remediation.action_decide,
        name="remediation_decide",
    ),
    path("learn/xapi.json", learn.xapi_statements, name="xapi_statements"),
    path("learn/<slug:slug>/", learn.module_detail, name="module_detail"),
    path("learn/<slug:slug>/read/", learn.section_read, name="section_read"),
    path("learn/<slug:slug>/quiz/", learn.quiz, name="module_quiz"),
    # Exam
    path("exam/", exam.exam_home, name="exam_home"),
    path(
        "exam/attempts/<uuid:attempt_id>/<int:position>/",
        exam.attempt_question,
        name="attempt_question",
    ),
    path("exam/attempts/<uuid:attempt_id>/finish/", exam.attempt_finish, name="attempt_finish"),
    path("exam/attempts/<uuid:attempt_id>/report/", exam.attempt_report, name="attempt_report"),
    # Credentials
    path("credentials/", credentials.my_credentials, name="my_credentials"),
    path("credentials/revocations.json", credentials.revocation_list, name="revocation_list"),
    path(
        "credentials/<uuid:credential_id>/",
        credentials.credential_verify,
        name="credential_verify",
    ),
    path(
        "credentials/<uuid:credential_id>.json",
        credentials.credential_json,
        name="credential_json",
    ),
    path(
        "credentials/<uuid:credential_id>/revoke/",
        credentials.credential_revoke,
        name="credential_revoke",
    ),
    path("issuer.json", credentials.issuer, name="issuer"),
    # People (HR, team leads)
    path("people/", people.people_list, name="people"),
    path("people/invite/", people.invite, name="people_invite"),
    path("people/<int:user_id>/", people.person_detail, name="person_detail"),
    # HR: roles, rubrics, candidates, evaluations, credential summaries
    path("hr/", hr.hr_home, name="hr_home"),
    path("hr/roles/<slug:slug>/", hr.rubric_detail, name="hr_rubric"),
    path("hr/roles/<slug:slug>/edit/", hr.rubric_edit_view, name="hr_rubric_edit"),
    path("hr/roles/<slug:slug>/invite/", hr.candidate_invite, name="hr_candidate_invite"),
    path("hr/roles/<slug:slug>/compare/", hr.compare, name="hr_compare"),
    path("hr/roles/<slug:slug>/evaluate/", hr.evaluation_start, name="hr_evaluation_start"),
    path("hr/evaluations/<uuid:evaluation_id>/", hr.evaluation_detail, name="hr_evaluation"),
    path("hr/people/<int:user_id>/summary.pdf", hr.person_summary, name="person_summary"),
    path("hr/bulk/", hr.bulk, name="hr_bulk"),
    path("hr/bulk/<uuid:batch_id>/", hr.bulk_status, name="hr_bulk_status"),
    path("hr/bulk/<uuid:batch_id>/download/", hr.bulk_download, name="hr_bulk_download"),
    path("hr/log/", hr.download_log, name="hr_log"),
    path("credentials/summary.pdf", hr.my_summary, name="my_summary"),
    path("credentials/paper/", hr.paper_preference, name="paper_preference"),
]
