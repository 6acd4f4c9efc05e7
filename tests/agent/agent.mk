# kbitsd's host tests: the engine and the store without the module.
AGENT_TEST_CFLAGS := $(AGENT_CFLAGS) -iquote $(TOP)/userspace/agent -DKB_TOP=\"$(TOP)\"
AGENT_TEST_LIBS := $(AGENT_LIBS) -lcrypto
AGENT_TESTS := engine store sched upload notify proxy
AGENT_TEST_BINS := $(AGENT_TESTS:%=$(BUILD)/tests/host/agent_%_test)

tests: $(AGENT_TEST_BINS)

# With ASan/UBSan for make check; build/tests/agent/*-valgrind without, for
# `make agent-valgrind`.
$(BUILD)/tests/host/agent_%_test: tests/agent/%_test.c tests/agent/harness.h $(AGENT_CORE_SRCS) $(AGENT_HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC      $(@:$(TOP)/%=%)"
	@$(CC) $(CFLAGS) $(AGENT_TEST_CFLAGS) -fsanitize=address,undefined -fno-omit-frame-pointer \
		-o $@ $< $(AGENT_CORE_SRCS) $(AGENT_TEST_LIBS)

$(BUILD)/tests/agent/%-valgrind: tests/agent/%_test.c tests/agent/harness.h $(AGENT_CORE_SRCS) $(AGENT_HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC      $(@:$(TOP)/%=%)"
	@$(CC) $(CFLAGS) $(AGENT_TEST_CFLAGS) -o $@ $< $(AGENT_CORE_SRCS) $(AGENT_TEST_LIBS)

.PHONY: agent-valgrind
agent-valgrind: $(AGENT_TESTS:%=$(BUILD)/tests/agent/%-valgrind)
	@for t in $^; do echo "# valgrind $$t"; \
		valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
			--trace-children=no $$t || exit 1; done
