# Network-namespace tests (run as root, in the VM: tools/vm-run -- tests/netns/lp_test.sh).
# kbits_fetch: the engine alone, without sanitizers (QEMU TCG is slow enough).
tests: $(BUILD)/tests/netns/kbits_fetch

$(BUILD)/tests/netns/kbits_fetch: tests/netns/fetch.c $(AGENT_CORE_SRCS) $(AGENT_HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC      $(@:$(TOP)/%=%)"
	@$(CC) $(CFLAGS) $(AGENT_CFLAGS) -iquote $(TOP)/userspace/agent -o $@ $< $(AGENT_CORE_SRCS) $(AGENT_LIBS)
