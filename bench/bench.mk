# Benchmarks: `make bench` (not part of `make check`). Each part adds its
# own target as a prerequisite of "bench"; the module's is bench-module
# (bench/module/), which runs in the VM on $(BENCH_KERNELS).

.PHONY: bench bench-module

BENCH_KERNELS ?= 6.1

bench: bench-module

$(BUILD)/bench/module/kbits_bench: bench/module/kbits_bench.c tests/kernel/kbits_rawnl.h include/uapi/linux/kbits.h
	@mkdir -p $(dir $@)
	@echo "  CC      $(@:$(TOP)/%=%)"
	@$(CC) $(CFLAGS) $(KBITS_CFLAGS) $(NL_CFLAGS) -o $@ $< $(NL_LIBS)

bench-module: module $(BUILD)/bench/module/kbits_bench
	@BENCH_KERNELS="$(BENCH_KERNELS)" bench/module/run

# In `make bench` the host benchmark (bench-agent, which prints the table of
# issue 11's targets) runs after the VM ones, never beside them, even under
# -j: a running QEMU guest changes host figures several-fold. It then also
# reads bench-agent-rss's fresh result for the RSS and queued-jobs rows.
ifneq ($(filter bench,$(MAKECMDGOALS)),)
bench-agent: bench-module bench-agent-rss
endif
