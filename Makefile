# hyperv-vss: the two commands a developer needs.
#   make check   install missing build dependencies, build everything, run every test
#   make demo    boot a VM and play a host backup through the simulator
# Both work on a fresh Debian 12 machine (as root, or with the packages installed).

BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DHVVSS_SANITIZE=ON
CTEST_FLAGS ?= --output-on-failure -j$(JOBS) --timeout 900

# Everything the build and the tests use, from Debian 12's archive.
DEPS = cmake make gcc pkg-config clang libclang-rt-14-dev \
       libcmocka-dev libmount-dev libpopt-dev libjson-c-dev libsystemd-dev \
       linux-libc-dev linux-headers-amd64 linux-headers-cloud-amd64 dkms \
       sparse linux-source-6.1 pahole xz-utils zstd \
       qemu-system-x86 busybox-static hyperv-daemons cpio kmod \
       e2fsprogs xfsprogs btrfs-progs util-linux procps python3 jq \
       debhelper dh-dkms lintian rpm rpmlint debootstrap fakeroot git \
       selinux-policy-dev selinux-policy-default setools checkpolicy \
       semodule-utils policycoreutils selinux-utils
# Downloaded into the cache by the tests, never installed (their kernel
# image would come with them): apt only has to know them.
DOWNLOADS = linux-headers-6.12-amd64

.PHONY: all deps configure build check demo demo-quick demo-kernel clean

all: build

deps:
	@tools/install-deps.sh $(DEPS) --known $(DOWNLOADS)

configure: deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j$(JOBS)

check: build
	ctest --test-dir $(BUILD) $(CTEST_FLAGS)

# .deb and .rpm packages (lintian and rpmlint clean) into $(BUILD)/packages.
.PHONY: packages
packages: deps
	tests/install/make-packages.sh $(BUILD)/packages

# The product demo in a VM: our modules, the host simulator, hvvssd, hvvssctl.
demo: build
	tools/demo.sh $(BUILD)

# The same on this machine with loop filesystems only (needs root; no VM).
demo-quick: build
	tools/demo.sh $(BUILD) --quick

# The kernel half alone, with Debian's hv_vss_daemon on our module.
demo-kernel: build
	tools/demo-kernel.sh $(BUILD)

clean:
	rm -rf $(BUILD)
