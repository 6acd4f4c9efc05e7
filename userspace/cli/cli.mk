# kbitsctl: build/bin/kbitsctl, linked statically against libkbits.a (libnl
# stays shared).

KBITSCTL_SRCS := $(wildcard userspace/cli/*.c)
KBITSCTL_OBJS := $(patsubst userspace/cli/%.c,$(BUILD)/cli/obj/%.o,$(KBITSCTL_SRCS))
KBITSCTL_VERSION ?= $(LIBKBITS_VERSION)

userspace: $(BUILD)/bin/kbitsctl

$(BUILD)/cli/obj/%.o: userspace/cli/%.c userspace/cli/cli.mk
	@mkdir -p $(dir $@)
	@echo "  CC      $(@:$(TOP)/%=%)"
	@$(CC) $(CFLAGS) $(USERSPACE_CFLAGS) -DKBITS_VERSION='"$(KBITSCTL_VERSION)"' \
		-MMD -MP -c -o $@ $<

# The library's path is spelt out: lib.mk is included after this file, so
# $(LIBKBITS_A) would still be empty when this rule's prerequisites are read.
$(BUILD)/bin/kbitsctl: $(KBITSCTL_OBJS) $(BUILD)/lib/libkbits.a
	@mkdir -p $(dir $@)
	@echo "  LD      $(@:$(TOP)/%=%)"
	@$(CC) $(CFLAGS) -o $@ $(KBITSCTL_OBJS) $(BUILD)/lib/libkbits.a $(LIBKBITS_NL_LIBS)

-include $(KBITSCTL_OBJS:.o=.d)
