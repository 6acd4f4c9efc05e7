# Host tests of the APT method (userspace/apt/): its protocol parser,
# writer, configuration and hashes, under ASan/UBSan. tests/host/run runs
# build/tests/host/*_test, so make check's host suite includes it.
APT_TEST_SRCS := userspace/apt/proto.c userspace/apt/conf.c userspace/apt/hash.c

tests: $(BUILD)/tests/host/apt_proto_test

$(BUILD)/tests/host/apt_proto_test: tests/apt/proto_test.c $(APT_TEST_SRCS) $(wildcard userspace/apt/*.h) $(BUILD)/lib/libkbits.a
	@mkdir -p $(dir $@)
	@echo "  CC      $(@:$(TOP)/%=%)"
	@$(CC) $(CFLAGS) $(USERSPACE_CFLAGS) -iquote $(TOP)/userspace/apt -fsanitize=address,undefined \
		-fno-omit-frame-pointer -o $@ $< $(APT_TEST_SRCS) $(BUILD)/lib/libkbits.a \
		$(LIBKBITS_NL_LIBS) $(APT_METHOD_LIBS)
