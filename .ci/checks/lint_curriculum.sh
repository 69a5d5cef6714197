#!/usr/bin/env bash
# The curriculum content passes every authoring rule (curriculum/README.md): file:line: reason.
set -euo pipefail
cd "$(dirname "$0")/../.."
.venv/bin/python manage.py lint_curriculum
