# Userspace programs. Each part has its own fragment: userspace/<part>/<part>.mk
# (lib, agent, cli), adding its targets as prerequisites of "userspace".
USERSPACE_CFLAGS := $(KBITS_CFLAGS) -I$(TOP)/userspace/include -D_GNU_SOURCE

userspace:

include $(wildcard userspace/*/*.mk)
