#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian 12 machine (idempotent).
#   scripts/deps.sh          build dependencies
#   scripts/deps.sh test     plus what the tests compare against: PyTorch's exporter, ONNX's test data, ONNX Runtime
#                            (and GNU time, with which tools/bench.py reads peak RSS)
set -euo pipefail
cd "$(dirname "$0")/.."
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

packages=(g++ cmake ninja-build pkg-config
          libonnx-dev libprotobuf-dev protobuf-compiler libcli11-dev libfmt-dev nlohmann-json3-dev
          libjpeg62-turbo-dev libpng-dev)
if [ "${1:-}" = "test" ]; then
  packages+=(libgtest-dev libgmock-dev libonnx-testdata python3-torch python3-torchvision python3-onnx
             python3-numpy python3-jsonschema time)
  command -v npm >/dev/null || packages+=(nodejs npm)
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ "${1:-}" = "test" ] && [ ! -d tools/ort/node_modules/onnxruntime-node ]; then
  # --ignore-scripts: the package bundles the CPU library; its install script only fetches GPU extras.
  npm --prefix tools/ort install --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
fi
