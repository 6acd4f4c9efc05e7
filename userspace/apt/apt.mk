# The APT acquire method kbits+http / kbits+https (apt-transport-kbits):
# build/apt/methods/kbits, with kbits+http and kbits+https hard links to
# it, a directory apt can use as Dir::Bin::Methods. Linked statically
# against libkbits.a, like kbitsctl; OpenSSL's libcrypto for the hashes.

APT_METHOD_SRCS := $(wildcard userspace/apt/*.c)
APT_METHOD_OBJS := $(patsubst userspace/apt/%.c,$(BUILD)/apt/obj/%.o,$(APT_METHOD_SRCS))
APT_METHOD_DIR := $(BUILD)/apt/methods
APT_METHOD := $(APT_METHOD_DIR)/kbits
APT_METHOD_LIBS := $(shell pkg-config --libs libcrypto 2>/dev/null || echo -lcrypto)

userspace: $(APT_METHOD) $(APT_METHOD_DIR)/kbits+http $(APT_METHOD_DIR)/kbits+https

$(BUILD)/apt/obj/%.o: userspace/apt/%.c userspace/apt/apt.mk
	@mkdir -p $(dir $@)
	@echo "  CC      $(@:$(TOP)/%=%)"
	@$(CC) $(CFLAGS) $(USERSPACE_CFLAGS) -MMD -MP -c -o $@ $<

$(APT_METHOD): $(APT_METHOD_OBJS) $(BUILD)/lib/libkbits.a
	@mkdir -p $(dir $@)
	@echo "  LD      $(@:$(TOP)/%=%)"
	@$(CC) $(CFLAGS) -o $@ $(APT_METHOD_OBJS) $(BUILD)/lib/libkbits.a $(LIBKBITS_NL_LIBS) \
		$(APT_METHOD_LIBS)

$(APT_METHOD_DIR)/kbits+%: $(APT_METHOD)
	@ln -f $< $@

-include $(APT_METHOD_OBJS:.o=.d)
