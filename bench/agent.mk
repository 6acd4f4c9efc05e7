# bench-agent: kbitsd's transfer path (bench/agent/kbits_get: engine, store,
# Complete; no module) against curl and aria2c on the host, side by side.
.PHONY: bench-agent
bench: bench-agent

$(BUILD)/bench/agent/kbits_get: bench/agent/kbits_get.c $(AGENT_CORE_SRCS) $(AGENT_HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC      $(@:$(TOP)/%=%)"
	@$(CC) $(CFLAGS) $(AGENT_CFLAGS) -iquote $(TOP)/userspace/agent -o $@ $< $(AGENT_CORE_SRCS) $(AGENT_LIBS)

# The same without SHA-256 (download.c, KB_BENCH_NO_DIGEST): the digest's price.
$(BUILD)/bench/agent/kbits_get_nodigest: bench/agent/kbits_get.c $(AGENT_CORE_SRCS) $(AGENT_HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC      $(@:$(TOP)/%=%)"
	@$(CC) $(CFLAGS) $(AGENT_CFLAGS) -DKB_BENCH_NO_DIGEST -iquote $(TOP)/userspace/agent -o $@ $< \
		$(AGENT_CORE_SRCS) $(AGENT_LIBS)

bench-agent: $(BUILD)/bench/agent/kbits_get $(BUILD)/bench/agent/kbits_get_nodigest
	@bench/agent/run
