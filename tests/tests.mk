# Tests: kselftests of the module (built on the host, run in the VM) and
# host-side userspace tests.

KSFT_DIR := $(BUILD)/linux/tools/testing/selftests
NL_CFLAGS := $(shell pkg-config --cflags libnl-genl-3.0 2>/dev/null)
NL_LIBS := $(shell pkg-config --libs libnl-genl-3.0 2>/dev/null)

KERNEL_TESTS := $(patsubst tests/kernel/%.c,$(BUILD)/tests/kernel/%,$(wildcard tests/kernel/*_test.c))
HOST_TESTS := $(patsubst tests/host/%.c,$(BUILD)/tests/host/%,$(wildcard tests/host/*_test.c))

tests: $(KERNEL_TESTS) $(HOST_TESTS)

# The harness is not warning-free under -Wextra: its macros take unused
# parameters and compare int literals with unsigned fields.
$(BUILD)/tests/kernel/%: tests/kernel/%.c $(wildcard tests/kernel/*.h) include/uapi/linux/kbits.h $(BUILD)/linux/.extracted
	@mkdir -p $(dir $@)
	@echo "  CC      $(@:$(TOP)/%=%)"
	@$(CC) $(CFLAGS) $(KBITS_CFLAGS) -Wno-unused-parameter -Wno-sign-compare -I$(KSFT_DIR) $(NL_CFLAGS) \
		-o $@ $< $(NL_LIBS)

$(BUILD)/tests/host/%: tests/host/%.c include/uapi/linux/kbits.h include/kbits_props.h userspace/agent/job.h module/kbits.h
	@mkdir -p $(dir $@)
	@echo "  CC      $(@:$(TOP)/%=%)"
	@$(CC) $(CFLAGS) $(KBITS_CFLAGS) -Wpadded -fsanitize=address,undefined -DKB_TOP=\"$(TOP)\" -o $@ $<

# Further test fragments (tests/<suite>/<suite>.mk) add their own targets
# as prerequisites of "tests".
include $(wildcard tests/*/*.mk)
