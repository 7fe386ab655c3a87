#!/usr/bin/env bash
# Builds the release artifact: one self-contained, single-file `rawsse` executable for linux-x64 with the demo
# page beside it (RawSse serves ./public, else the public/ folder beside the executable).
#   deploy/publish.sh [OUTPUT_DIR]      (default: dist/rawsse-linux-x64)
# When the runtime packs for a self-contained or ReadyToRun build cannot be restored (an offline NuGet copy
# without them), it falls back to a framework-dependent single file, as bench/run.sh does, and says so.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$repo/dist/rawsse-linux-x64}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# A stale file from an earlier publish must not travel with this one.
rm -rf "$out"
mkdir -p "$out"
project="$repo/RawSse/RawSse.csproj"
common=(-c Release -r linux-x64 -p:PublishSingleFile=true -p:IncludeNativeLibrariesForSelfExtract=true -p:DebugType=none -o "$out" -nologo -v:q)

if dotnet publish "$project" "${common[@]}" --self-contained true -p:PublishReadyToRun=true; then
  kind="self-contained, ReadyToRun"
else
  echo "publish.sh: the self-contained ReadyToRun publish failed (runtime or crossgen pack not restorable?):" \
    "falling back to a framework-dependent single file, which needs the .NET 10 runtime installed" >&2
  rm -rf "$out"
  mkdir -p "$out"
  dotnet publish "$project" "${common[@]}" --self-contained false
  kind="framework-dependent (fallback)"
fi

# The project's assembly is RawSse; the command users type is rawsse.
mv "$out/RawSse" "$out/rawsse"
echo "publish.sh: $out/rawsse ($kind, $(du -h "$out/rawsse" | cut -f1)), demo page in $out/public/"
