#!/usr/bin/env bash
# No block of six or more lines repeated across the apps' modules outside tests and migrations
# (issue 17): pylint's duplicate-code check, with the blocks kept on purpose listed, each with
# its reason, in .ci/checks/duplicates_allowed.txt (see .ci/duplicates.py). Run from the repo
# root after `make test` made .venv; installs the test extras (pylint) when they are missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! .venv/bin/python -c "import pylint" 2>/dev/null; then
  make --no-print-directory install-test
fi
.venv/bin/python .ci/duplicates.py
