#!/usr/bin/env bash
# npm run test:all: every test of the project, on Debian 12 as root, from a
# fresh clone: installs the Debian packages, the npm modules and the Go tools
# the suites need, then runs them in order, cheapest first.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-deps.sh
npm ci --no-audit --no-fund

npm test
npm run test:tools
npm run test:apply
npm run test:lab
npm run test:engine
npm run lint:workflows
