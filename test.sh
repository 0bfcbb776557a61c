#!/usr/bin/env bash
# Restores, builds and runs the whole test suite (a few minutes on 2 cores).
set -uo pipefail
cd "$(dirname "$0")"
dotnet test Res2Net.slnx -c Release
