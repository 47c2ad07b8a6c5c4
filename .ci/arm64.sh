#!/usr/bin/env bash
# Cross-builds for aarch64 with Debian's cross toolchain and runs the test suite under qemu-aarch64
# (idempotent: installs only what is missing). Ends with CTest's summary; exits non-zero if any test fails.
#   .ci/arm64.sh                 configure build-arm64, build, run every test but the e2e-labelled ones
#   ARM64_E2E=1 .ci/arm64.sh     every test
#   .ci/arm64.sh -R OnnxIo       extra arguments go to ctest
# ARM64_BUILD_DIR overrides the build directory.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${ARM64_BUILD_DIR:-build-arm64}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
started=$SECONDS
phase_started=$SECONDS
phase_done() {
  echo "arm64: $1 took $((SECONDS - phase_started)) s"
  phase_started=$SECONDS
}

# Host tools the native build and the scripted tests use (PyTorch exporter, ONNX Runtime) come from the
# project's own installer; only the cross toolchain and the arm64 libraries are added here.
if [ -f scripts/deps.sh ]; then
  bash scripts/deps.sh test
fi

packages=(g++-aarch64-linux-gnu qemu-user qemu-user-binfmt cmake ninja-build protobuf-compiler
          libcli11-dev nlohmann-json3-dev
          libonnx-dev:arm64 libprotobuf-dev:arm64 libfmt-dev:arm64 libgtest-dev:arm64
          libjpeg62-turbo-dev:arm64 libpng-dev:arm64)
dpkg --print-foreign-architectures | grep -qx arm64 || $sudo dpkg --add-architecture arm64
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "arm64: installing ${missing[*]}"
  for attempt in 1 2 3 4 5; do
    $sudo apt-get update -qq && break
    [ "$attempt" -lt 5 ] || exit 1
    sleep 20
  done
  # libonnxifi (Multi-Arch: same) ships an architecture-specific /usr/lib/libonnxifi.so outside the multiarch
  # directory, so dpkg refuses its arm64 copy beside the amd64 one; nothing links that file, so it is left out.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
    -o Dpkg::Options::=--path-exclude=/usr/lib/libonnxifi.so "${missing[@]}" >/dev/null
fi
phase_done "install"

# Tests start the command-line tools as child processes (through /bin/sh or Python), which only
# CMAKE_CROSSCOMPILING_EMULATOR does not cover: register qemu-aarch64 with the kernel for those.
binfmt=/proc/sys/fs/binfmt_misc
if [ ! -e "$binfmt/qemu-aarch64" ]; then
  if ! { [ -e "$binfmt/register" ] || $sudo mount -t binfmt_misc binfmt_misc "$binfmt"; } ||
     ! $sudo sh -c "cat /usr/lib/binfmt.d/qemu-aarch64.conf > $binfmt/register"; then
    echo "arm64: cannot register qemu-aarch64 with binfmt_misc (needs root outside an unprivileged container)" >&2
    exit 1
  fi
fi

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake "${launcher[@]}"
cmake --build "$build_dir" -j "$(nproc)"
phase_done "build"
echo "arm64: install and build took $((SECONDS - started)) s; the tests run under qemu-aarch64"

# The e2e-labelled tests (PyTorch export, convert, ONNX Runtime) add about 15 minutes under emulation and
# drive the same C++ as the rest of the suite, which the native run checks end to end already.
ctest_args=(--output-on-failure -j "$(nproc)")
[ "${ARM64_E2E:-0}" = 1 ] || ctest_args+=(--label-exclude e2e)
# The reference-kernel (isa_generic) copy of the whole-model equivalence sweep costs about five minutes under qemu and
# runs the same portable code the native run's copy checks; the kernel and op tests keep their generic copies here.
[ "${ARM64_E2E:-0}" = 1 ] || ctest_args+=(--exclude-regex "^isa_generic\\.VariantsAndStyles/")
# CTest's summary is the closing word of this run (and its exit status this script's).
exec ctest --test-dir "$build_dir" "${ctest_args[@]}" "$@"
