#!/usr/bin/env bash
# Builds the solution with warnings as errors, runs every test, and ends with "N passed, N failed[, N skipped]".
# Extra arguments go to `dotnet test` (for example: ./test.sh --filter "FullyQualifiedName~Static").
set -uo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

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
