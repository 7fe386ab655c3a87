#!/usr/bin/env bash
# Builds the solution with warnings as errors, runs every test, and ends with "N passed, N failed[, N skipped]".
# Extra arguments go to `dotnet test` (for example: ./test.sh --filter "FullyQualifiedName~Static").
# Categories: Browser (Chromium), Proxy (nginx), Timing (wall-clock timeouts and heartbeats). The core suite alone:
#   ./test.sh --filter "TestCategory!=Browser&TestCategory!=Proxy"
set -uo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# The browser and proxy tests drive Debian's Chromium and nginx. On a fresh Debian machine, as root, install
# them if they are missing (CI's .ci/run installs them first); elsewhere those tests fail and say what to install.
missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
[[ -x /usr/bin/chromedriver ]] || missing+=(chromium-driver)
[[ -x /usr/sbin/nginx ]] || missing+=(nginx)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if (( ${#missing[@]} > 0 )); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "note: ${missing[*]} not installed; the browser and nginx tests will fail until they are" >&2
  fi
fi

results="$(pwd)/TestResults"
rm -rf "$results"

dotnet build RawSse.sln -c Release -warnaserror -nologo -v:q || { echo "0 passed, 1 failed"; exit 1; }

dotnet test RawSse.sln -c Release --no-build -nologo \
  --logger "trx;LogFileName=results.trx" --logger "console;verbosity=normal" \
  --results-directory "$results" "$@"
status=$?

trx="$results/results.trx"
if [[ ! -f "$trx" ]]; then
  echo "no test results were written"
  echo "0 passed, 1 failed"
  exit 1
fi

counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
field() { local v; v=$(sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"); echo "${v:-0}"; }
passed=$(field passed); failed=$(field failed); total=$(field total); executed=$(field executed)
skipped=$(( ${total:-0} - ${executed:-0} ))
failed=$(( ${failed:-0} + $(field error) + $(field timeout) + $(field aborted) ))

if (( ${total:-0} == 0 )); then
  echo "no tests ran"
  echo "0 passed, 1 failed"
  exit 1
fi

if (( skipped > 0 )); then
  echo "${passed} passed, ${failed} failed, ${skipped} skipped"
else
  echo "${passed} passed, ${failed} failed"
fi

if (( status != 0 || failed > 0 )); then
  exit 1
fi
