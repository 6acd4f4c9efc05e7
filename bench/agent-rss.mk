# bench-agent-rss: kbitsd's memory (VmRSS, VmHWM) idle, with 10,000 queued
# jobs and with 100 active transfers, in the VM on kernel 6.1
# (bench/agent-rss/run); writes the section "kbitsd memory" of
# Documentation/performance.md. mkjobs creates the jobs through libkbits,
# linked statically like kbitsctl (libnl stays shared).

.PHONY: bench-agent-rss

bench: bench-agent-rss

$(BUILD)/bench/agent-rss/mkjobs: bench/agent-rss/mkjobs.c $(BUILD)/lib/libkbits.a \
		userspace/include/kbits.h include/uapi/linux/kbits.h
	@mkdir -p $(dir $@)
	@echo "  CC      $(@:$(TOP)/%=%)"
	@$(CC) $(CFLAGS) -std=c11 -Wall -Wextra -Werror -I$(TOP)/userspace/include \
		-I$(TOP)/include/uapi -o $@ $< $(BUILD)/lib/libkbits.a $(LIBKBITS_NL_LIBS)

bench-agent-rss: module $(BUILD)/bin/kbitsd $(BUILD)/bin/kbitsctl $(BUILD)/bench/agent-rss/mkjobs
	@bench/agent-rss/run
