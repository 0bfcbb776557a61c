#!/usr/bin/env bash
# The whole test suite (dotnet test), then once more as a CPU with AVX2 only would run it: no AVX-512 for .NET's vector
# code (DOTNET_EnableAVX512F=0), oneDNN's AVX2 kernels (ONEDNN_MAX_CPU_ISA=AVX2), bfloat16 hidden (RES2NET_HIDE_BF16=1),
# so every CPU-dependent branch runs whichever machine this lands on (the LibTorch canaries are left out there: they
# judge the CPU itself). Last, the imaging tests without AVX2 (the scalar resampling path, held to PIL's bytes).
# About five minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")"
dotnet test Res2Net.slnx -c Release
echo "test.sh: again as an AVX2-only CPU"
ONEDNN_MAX_CPU_ISA=AVX2 DOTNET_EnableAVX512F=0 RES2NET_HIDE_BF16=1 \
  dotnet test tests/Res2Net.Tests -c Release --no-build --filter "FullyQualifiedName!~LibTorchDefectTests"
echo "test.sh: the imaging tests without AVX2"
DOTNET_EnableAVX2=0 dotnet test tests/Res2Net.Tests -c Release --no-build --filter "FullyQualifiedName~Imaging"
