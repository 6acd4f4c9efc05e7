# Host tests of libkbits and kbitsctl (no module needed), run by
# tests/host/run: build/tests/host/libkbits_test (C, ASan/UBSan, linked
# against libkbits.a) and build/tests/host/kbitsctl_test (shell).

tests: $(BUILD)/tests/host/libkbits_test $(BUILD)/tests/host/kbitsctl_test

$(BUILD)/tests/host/libkbits_test: tests/lib/libkbits_test.c $(LIBKBITS_A) userspace/include/kbits.h
	@mkdir -p $(dir $@)
	@echo "  CC      $(@:$(TOP)/%=%)"
	@$(CC) $(CFLAGS) $(USERSPACE_CFLAGS) -fsanitize=address,undefined -o $@ $< \
		$(LIBKBITS_A) $(LIBKBITS_NL_LIBS)

# The script finds kbitsctl and the man page from the project's top.
$(BUILD)/tests/host/kbitsctl_test: tests/lib/kbitsctl_test.sh $(BUILD)/bin/kbitsctl
	@mkdir -p $(dir $@)
	@install -m 755 $< $@
