# kbits top-level Makefile.
#
#   make            build the module for every supported installed kernel,
#                   the userspace programs and the tests
#   make module     kbits.ko for 6.1, 6.1-rt and 6.12, each in build/kernel/<release>/
#   make module KDIR=/lib/modules/<release>/build   one given kernel tree
#   make check      install missing dependencies, build, run every suite
#   make demo       build, boot a VM, show kbits working
#   make debug-kernel  build (once per machine) the KASAN/lockdep/kmemleak/
#                   fault-injection kernel, cached in /var/cache/kbits/debug-kernel/
#   make check-debug   kselftests, e2e and the fault-injection pass on it
#
# This file also serves Kbuild: `make -C $KDIR M=$PWD` reads ./Kbuild.

ifneq ($(KERNELRELEASE),)
include $(src)/Kbuild
else

SHELL := /bin/bash
TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD := $(TOP)/build
LINUX_SOURCE ?= /usr/src/linux-source-6.1.tar.xz

CC ?= cc
CFLAGS ?= -O2 -g
KBITS_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -I$(TOP)/include/uapi -I$(TOP)/include

MODULE_SOURCES := Kbuild $(wildcard module/*.c module/*.h) include/uapi/linux/kbits.h include/kbits_props.h

.PHONY: all module userspace tests checkpatch kselftest-headers check check-debug debug-kernel demo clean help

all: module userspace tests

help:
	@sed -n '2,13p' Makefile | sed 's/^# \{0,1\}//'

# ---- kernel module ---------------------------------------------------------

# Each kernel gets a copy of the sources in its own directory: out-of-tree
# Kbuild writes objects next to the sources, and 6.1 has no MO=.
define build_module_for
	set -e; rel=$$(sed -n 's/^#define UTS_RELEASE "\(.*\)"/\1/p' $(1)/include/generated/utsrelease.h); \
	out=$(BUILD)/kernel/$$rel; mkdir -p $$out; \
	cp -p --parents $(MODULE_SOURCES) $$out/; \
	$(MAKE) --no-print-directory -C $(1) M=$$out modules >$$out/build.log 2>&1 || \
		{ cat $$out/build.log; exit 1; }; \
	if grep -E 'warning:' $$out/build.log; then echo "module build for $$rel has warnings" >&2; exit 1; fi; \
	echo "  MODULE  build/kernel/$$rel/kbits.ko"
endef

ifneq ($(KDIR),)
module:
	+@$(call build_module_for,$(KDIR))
else
module:
	@source tools/kernels.sh; n=0; for s in $$KBITS_KERNEL_SERIES; do \
		rel=$$(kbits_kernel_release $$s) || { echo "no kernel headers for $$s (run tools/install-deps)" >&2; exit 1; }; \
		$(MAKE) --no-print-directory module KDIR=/lib/modules/$$rel/build || exit 1; \
	done
endif

# ---- tools taken from the kernel source at build time ------------------------

$(BUILD)/linux/.extracted: $(LINUX_SOURCE)
	@echo "  EXTRACT kselftest harness and checkpatch from $(notdir $(LINUX_SOURCE))"
	@rm -rf $(BUILD)/linux && mkdir -p $(BUILD)/linux
	@tar -xJf $(LINUX_SOURCE) -C $(BUILD)/linux --strip-components=1 --wildcards \
		'*/tools/testing/selftests/kselftest*' '*/scripts/checkpatch.pl' \
		'*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch'
	@touch $@

kselftest-headers: $(BUILD)/linux/.extracted
checkpatch: $(BUILD)/linux/.extracted
	@perl $(BUILD)/linux/scripts/checkpatch.pl --no-tree --strict --quiet \
		--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG -f $(MODULE_SOURCES) && echo "  CHECKPATCH clean"

# ---- userspace and tests ---------------------------------------------------

# The fault-injection pass of check-debug, built like the kselftests.
DEBUG_TESTS := $(BUILD)/tests/debug/faults_test
tests: $(DEBUG_TESTS)
$(BUILD)/tests/debug/%: tests/debug/%.c $(wildcard tests/kernel/*.h) include/uapi/linux/kbits.h $(BUILD)/linux/.extracted
	@mkdir -p $(dir $@)
	@echo "  CC      $(@:$(TOP)/%=%)"
	@$(CC) $(CFLAGS) $(KBITS_CFLAGS) -Wno-unused-parameter -Wno-sign-compare -I$(KSFT_DIR) $(NL_CFLAGS) \
		-o $@ $< $(NL_LIBS)

include userspace/userspace.mk
include tests/tests.mk
include install.mk
include $(wildcard bench/*.mk)

# ---- the two commands -----------------------------------------------------

check:
	@tools/check

debug-kernel:
	@tools/debug-kernel

check-debug:
	@tools/check --debug-kernel

demo:
	@tools/demo

clean:
	rm -rf $(BUILD)

endif
