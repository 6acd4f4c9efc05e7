# kbitsd's host tests: the engine and the store without the module.
AGENT_TEST_CFLAGS := $(AGENT_CFLAGS) -iquote $(TOP)/userspace/agent -DKB_TOP=\"$(TOP)\"
AGENT_TEST_LIBS := $(AGENT_LIBS)
AGENT_TESTS := engine store sched upload notify proxy index intake wbuf job tls mirror
AGENT_TEST_BINS := $(AGENT_TESTS:%=$(BUILD)/tests/host/agent_%_test)

# Under ASan/UBSan (agent_*_test) and, built without sanitizers, under
# valgrind (tests/host/valgrind.sh; by hand: make agent-valgrind).
AGENT_VALGRIND_TESTS := engine store sched upload proxy index intake wbuf job tls mirror

tests: $(AGENT_TEST_BINS) $(AGENT_VALGRIND_TESTS:%=$(BUILD)/tests/agent/%-valgrind)

$(BUILD)/tests/host/agent_%_test: tests/agent/%_test.c tests/agent/harness.h $(AGENT_CORE_SRCS) $(AGENT_HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC      $(@:$(TOP)/%=%)"
	@$(CC) $(CFLAGS) $(AGENT_TEST_CFLAGS) -fsanitize=address,undefined -fno-omit-frame-pointer \
		-o $@ $< $(AGENT_CORE_SRCS) $(AGENT_TEST_LIBS)

# KB_SYNCFS_MIN: no syncfs thread under valgrind. Valgrind 3.19 keeps its
# lock while a thread waits in io_uring_enter, so the syncfs thread starved
# behind the loop's wait (the 100-file case never reached TRANSFERRED); the
# ASan build runs the syncfs path, this one the fdatasync path for any count.
$(BUILD)/tests/agent/%-valgrind: tests/agent/%_test.c tests/agent/harness.h $(AGENT_CORE_SRCS) $(AGENT_HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC      $(@:$(TOP)/%=%)"
	@$(CC) $(CFLAGS) $(AGENT_TEST_CFLAGS) -DKB_SYNCFS_MIN=1000000 -o $@ $< $(AGENT_CORE_SRCS) $(AGENT_TEST_LIBS)

# intake_test includes kbitsd.c itself (with a fake channel).
$(BUILD)/tests/host/agent_intake_test $(BUILD)/tests/agent/intake-valgrind: userspace/agent/kbitsd.c

.PHONY: agent-valgrind
agent-valgrind: $(AGENT_VALGRIND_TESTS:%=$(BUILD)/tests/agent/%-valgrind)
	@tests/host/valgrind.sh
