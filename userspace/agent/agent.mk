# kbitsd: the agent. See Documentation/kbitsd.md.
# libcrypto: SHA-256 of every downloaded file (download.c), OpenSSL's EVP.
AGENT_PKGS := liburing libcurl sqlite3 libcrypto
AGENT_CFLAGS := $(USERSPACE_CFLAGS) $(shell pkg-config --cflags $(AGENT_PKGS) 2>/dev/null)
AGENT_LIBS := $(shell pkg-config --libs $(AGENT_PKGS) 2>/dev/null)
# The engine and the store, without main() and the module glue: the host
# tests link these.
AGENT_CORE := loop job error owner jobindex tempfile commit http httpreq curlio download engine store sched bits_proto upload_cancel upload_session notify_cmd netopt wbufpool
AGENT_CORE_SRCS := $(AGENT_CORE:%=userspace/agent/%.c)
AGENT_SRCS := $(AGENT_CORE_SRCS) userspace/agent/channel.c userspace/agent/notify.c userspace/agent/kbitsd.c
AGENT_HDRS := $(wildcard userspace/agent/*.h) include/uapi/linux/kbits.h

userspace: $(BUILD)/bin/kbitsd

$(BUILD)/bin/kbitsd: $(AGENT_SRCS) $(AGENT_HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC      $(@:$(TOP)/%=%)"
	@$(CC) $(CFLAGS) $(AGENT_CFLAGS) -o $@ $(AGENT_SRCS) $(AGENT_LIBS)
