#!/usr/bin/env bash
# The REST API against its own OpenAPI schema (issue 4): schemathesis generates requests for
# every operation of /api/schema/ (valid and invalid ones) as a FinOps admin, and the run fails
# if any answer is a server error. A fresh SQLite database in a temporary folder gets the demo
# people, a small generated ledger and one alert, recommendation and action; the dev server
# runs on a free port and is stopped on exit. Run from the repo root after `make test`.
#   SCHEMATHESIS_EXAMPLES=N  examples per operation (default 30)
set -euo pipefail
cd "$(dirname "$0")/../.."

PY=.venv/bin/python
EXAMPLES=${SCHEMATHESIS_EXAMPLES:-30}
WORK=$(mktemp -d /tmp/finops-schemathesis.XXXXXX)
SERVER_PID=""

cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# Uploaded files go to the temporary folder, not to the checkout's var/media.
cat >"$WORK/schemathesis_settings.py" <<EOF
from config.settings.local import *  # noqa: F403

MEDIA_ROOT = "$WORK/media"
EOF
export PYTHONPATH="$WORK${PYTHONPATH:+:$PYTHONPATH}"
export DJANGO_SETTINGS_MODULE=schemathesis_settings
export DATABASE_URL="sqlite:///$WORK/db.sqlite3"
export CELERY_BROKER_URL="sqla+sqlite:///$WORK/broker.sqlite3"
export CELERY_TASK_ALWAYS_EAGER=1  # re-allocations and approved actions run in the request
export REMEDIATION_WEBHOOK_URL=""

echo "preparing a fresh database in $WORK"
$PY manage.py migrate --verbosity 0
$PY manage.py seed_demo --people-only >/dev/null
$PY manage.py generate_usage --days 21 --teams 3 --rows 600 --seed 4 --out "$WORK/usage" >/dev/null
$PY manage.py import_billing "$WORK/usage" >/dev/null
$PY manage.py shell -c '
from datetime import date
from decimal import Decimal
from metrics.models import Alert, Recommendation, RemediationAction, Team
team = Team.objects.get(slug="ml-platform")
Alert.objects.get_or_create(dedupe_key="schemathesis", defaults=dict(
    kind="anomaly", team=team, day=date.today(), amount=Decimal("12.5"), currency="USD",
    title="spend jumped"))
rec, _ = Recommendation.objects.get_or_create(dedupe_key="schemathesis", defaults=dict(
    kind="downsize", team=team, title="use a smaller model",
    estimated_monthly_saving=Decimal("40")))
RemediationAction.objects.get_or_create(kind="budget_cap", team=team, recommendation=rec,
    defaults=dict(params={"application_key": "chat", "cap": "100"}))
'
TOKEN=$($PY manage.py drf_create_token finops@example.com | awk '{print $3}')

# Half of the generated ids and slugs name objects that exist, so the operations get past 404.
cat >"$WORK/schemathesis.toml" <<EOF
[dictionaries.ids]
values = [1, 2, 3]

[dictionaries.slugs]
values = ["ml-platform", "search", "support-assistant"]

[parameters]
"path.id" = { dictionary = "ids", probability = 0.5 }
"path.slug" = { dictionary = "slugs", probability = 0.5 }
EOF

PORT=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
$PY manage.py runserver --noreload --nothreading "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 60); do
  if $PY -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$PORT/api/schema/', timeout=5)" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then cat "$WORK/server.log"; exit 1; fi
  sleep 0.5
done

status=0
.venv/bin/schemathesis --config-file "$WORK/schemathesis.toml" run "http://127.0.0.1:$PORT/api/schema/" \
  --header "Authorization: Token $TOKEN" \
  --checks not_a_server_error \
  --max-examples "$EXAMPLES" \
  --seed 20261126 \
  --workers 1 \
  --request-timeout 60 \
  --generation-database none \
  --no-color || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- server errors logged by the dev server:"
  grep -n -A30 "Internal Server Error" "$WORK/server.log" | head -200 || true
  exit "$status"
fi
echo "schemathesis: no server errors"
