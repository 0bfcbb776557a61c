#!/usr/bin/env bash
# Builds the res2net tool and runs the main job on the embedded defaults.
set -euo pipefail
cd "$(dirname "$0")"
dotnet build src/Res2Net.Cli -c Release -v quiet -nologo >/dev/null
bin=src/Res2Net.Cli/bin/Release/net10.0/res2net
echo "== every registered model (parameters and MACs computed from the code) =="
"$bin" models
echo
echo "== res2net50_26w_4s, stage by stage =="
"$bin" info --model res2net50_26w_4s
