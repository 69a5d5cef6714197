#!/usr/bin/env bash
# FOCUS export conformance (issue 3): every billing sample in ../shared/data/billing/ is imported
# into a fresh SQLite database, exported with `manage.py export_focus` (CSV and Parquet), and
# checked by the FinOps Foundation's focus-validator (--validate-version 1.2 --block-download).
# Fails unless every export passes with no failed rule (the tolerated upstream rule-model defects
# are listed in .ci/focus_validate.py). Run from the repo root after `make test` made .venv.
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=.venv-focus
REQUIREMENTS=.ci/focus-validator-requirements.txt
STAMP="$VENV/.installed"

python312() {
  # focus-validator needs Python 3.12: pyenv's, else one on PATH.
  local root candidate
  if root=$(pyenv root 2>/dev/null); then
    for candidate in $(ls -d "$root"/versions/3.12* 2>/dev/null | sort -V -r); do
      if [ -x "$candidate/bin/python3.12" ]; then echo "$candidate/bin/python3.12"; return 0; fi
    done
  fi
  if command -v python3.12 >/dev/null 2>&1; then command -v python3.12; return 0; fi
  echo "focus_validator.sh: Python 3.12 not found (pyenv versions/3.12*, or python3.12 on PATH)" >&2
  return 1
}

if [ ! -x "$VENV/bin/python" ] || [ ! -e "$STAMP" ] || [ "$REQUIREMENTS" -nt "$STAMP" ]; then
  echo "installing focus-validator into $VENV"
  PY=$(python312)
  "$PY" -m venv --clear "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -r "$REQUIREMENTS"
  touch "$STAMP"
fi

.venv/bin/python .ci/focus_validate.py --validator-python "$VENV/bin/python"
