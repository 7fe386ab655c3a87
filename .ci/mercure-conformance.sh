#!/usr/bin/env bash
# Runs Mercure's own conformance suite against a fresh RawSse, in Debian's Chromium:
#
#   .ci/mercure-conformance.sh PATH/TO/mercure/conformance-tests
#
# The suite is not part of this repository (it is AGPL, in github.com/dunglas/mercure): give the path of a
# checkout. Its spec files are copied into a temporary folder with a Playwright config of our own (Chromium only,
# the system's /usr/bin/chromium, list reporter); @playwright/test comes from npm. RawSse is started on port 18090
# with the HS256 key the suite's token is signed with, and stopped at the end. Ends with Playwright's summary.
set -euo pipefail
if [[ $# -ne 1 || ! -d "$1" ]]; then
  sed -n '2,9p' "$0" >&2
  exit 2
fi
suite=$(cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
port=${RAWSSE_CONFORMANCE_PORT:-18090}
work=$(mktemp -d)
server=""
cleanup() {
  [[ -n "$server" ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

command -v npx >/dev/null || { echo "needs node and npm (apt-get install -y nodejs npm)" >&2; exit 2; }
[[ -x /usr/bin/chromium ]] || { echo "needs Debian's chromium (apt-get install -y chromium)" >&2; exit 2; }

cp "$suite"/*.spec.ts "$work/"
cat >"$work/playwright.config.ts" <<'CONFIG'
import { defineConfig, devices } from '@playwright/test';
export default defineConfig({
  testDir: '.',
  timeout: 10000,
  expect: { timeout: 5000 },
  reporter: 'list',
  use: { baseURL: process.env.BASE_URL },
  projects: [{ name: 'chromium', use: { ...devices['Desktop Chrome'], launchOptions: { executablePath: '/usr/bin/chromium' } } }],
});
CONFIG
(cd "$work" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund @playwright/test >/dev/null)

dotnet build "$repo/RawSse/RawSse.csproj" -c Release -nologo -v:q >/dev/null
dotnet "$repo/RawSse/bin/Release/net10.0/RawSse.dll" --port "$port" --interval 0 --log-level Warning \
  --root "$repo/public" --jwt-key '!ChangeThisMercureHubJWTSecretKey!' &
server=$!
for _ in $(seq 100); do
  curl -s -o /dev/null "http://localhost:$port/" && break
  sleep 0.1
done

cd "$work"
BASE_URL="http://localhost:$port/.well-known/mercure" CUSTOM_ID=1 npx playwright test
