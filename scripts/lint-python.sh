#!/usr/bin/env bash
# Lint and format check of the bundled model's training code (models/training), run by .ci/run.
# `--fix` reformats in place instead of checking.
#
# Tools: black (format) and flake8 (lint), from Debian (`apt-get install black python3-flake8`),
# the same way CI already gets python3-torch for the training smoke test. Chosen over ruff's
# WebAssembly build on npm (@astral-sh/ruff-wasm-nodejs): that is an experimental API ("may
# change at any time") that checks one source string at a time, with no command line, file
# discovery or config-file reading, so it would need a runner of our own plus a new npm
# dependency for Python tooling; ruff's formatter follows black's style anyway. Debian pins both
# tools with the distribution (black 23.1, flake8 5.0 on bookworm) and nothing comes from npm.
# Settings: models/training/pyproject.toml (black) and models/training/.flake8.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=models/training
python=/usr/bin/python3
if [ "${1:-}" = "--fix" ]; then
  "$python" -m black --config "$dir/pyproject.toml" "$dir"
else
  "$python" -m black --check --diff --quiet --config "$dir/pyproject.toml" "$dir"
fi
"$python" -m flake8 --config "$dir/.flake8" "$dir"
