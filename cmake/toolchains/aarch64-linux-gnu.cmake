# Cross-compile for aarch64 with Debian's cross toolchain (g++-aarch64-linux-gnu) against the
# multiarch arm64 -dev packages (libonnx-dev:arm64, libprotobuf-dev:arm64, ...), and run every
# test and gtest discovery under qemu-aarch64. .ci/arm64.sh installs all of it.
#
#   cmake -S . -B build-arm64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# Multiarch keeps the arm64 libraries and package configs in the host's own /usr, under
# lib/aarch64-linux-gnu, beside the amd64 ones in lib/x86_64-linux-gnu; the library architecture is
# what keeps find_package and find_library on the arm64 side. /usr/aarch64-linux-gnu is the cross
# toolchain's own libc and libstdc++.
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)

# protoc is a build tool, so it is the host's; FindProtobuf only asks it for its version.
set(Protobuf_PROTOC_EXECUTABLE /usr/bin/protoc CACHE FILEPATH "Host protoc")

# No -L /usr/aarch64-linux-gnu: the libraries resolve to the multiarch libc (libc6:arm64, under
# /lib/aarch64-linux-gnu), and its own dynamic loader /lib/ld-linux-aarch64.so.1 must load them. The cross
# toolchain's loader is another glibc build (libc6-arm64-cross) whose private ABI differs: with it, the first
# thread a test starts spins forever in glibc's thread-stack cache.
set(CMAKE_CROSSCOMPILING_EMULATOR /usr/bin/qemu-aarch64)
