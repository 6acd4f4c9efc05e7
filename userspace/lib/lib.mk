# libkbits: build/lib/libkbits.so.1 (+ libkbits.so), build/lib/libkbits.a and
# build/lib/pkgconfig/libkbits.pc. PREFIX, LIBDIR and INCLUDEDIR set the
# paths written into the .pc file for `make install`.

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include

LIBKBITS_SO_VERSION := 1
LIBKBITS_VERSION := 0.1.0
LIBKBITS_SRCS := $(wildcard userspace/lib/*.c)
LIBKBITS_OBJS := $(patsubst userspace/lib/%.c,$(BUILD)/lib/obj/%.o,$(LIBKBITS_SRCS))
LIBKBITS_NL_CFLAGS := $(shell pkg-config --cflags libnl-genl-3.0 2>/dev/null)
LIBKBITS_NL_LIBS := $(shell pkg-config --libs libnl-genl-3.0 2>/dev/null)

LIBKBITS_SO := $(BUILD)/lib/libkbits.so.$(LIBKBITS_SO_VERSION)
LIBKBITS_A := $(BUILD)/lib/libkbits.a
LIBKBITS_PC := $(BUILD)/lib/pkgconfig/libkbits.pc

# pkg-config prefers libkbits-uninstalled.pc when PKG_CONFIG_PATH names
# build/lib/pkgconfig: programs (userspace/examples) build against the tree.
LIBKBITS_UNINSTALLED_PC := $(BUILD)/lib/pkgconfig/libkbits-uninstalled.pc

userspace: $(LIBKBITS_SO) $(BUILD)/lib/libkbits.so $(LIBKBITS_A) $(LIBKBITS_PC) $(LIBKBITS_UNINSTALLED_PC)

# Position-independent objects serve both the shared and the static library;
# only the KBITS_API functions of the public header are exported.
$(BUILD)/lib/obj/%.o: userspace/lib/%.c userspace/lib/lib.mk
	@mkdir -p $(dir $@)
	@echo "  CC      $(@:$(TOP)/%=%)"
	@$(CC) $(CFLAGS) $(USERSPACE_CFLAGS) $(LIBKBITS_NL_CFLAGS) -fPIC -fvisibility=hidden \
		-MMD -MP -c -o $@ $<

$(LIBKBITS_SO): $(LIBKBITS_OBJS)
	@echo "  LD      $(@:$(TOP)/%=%)"
	@$(CC) $(CFLAGS) -shared -Wl,-soname,libkbits.so.$(LIBKBITS_SO_VERSION) \
		-Wl,--no-undefined -Wl,-z,relro,-z,now -o $@ $^ $(LIBKBITS_NL_LIBS)

$(BUILD)/lib/libkbits.so: $(LIBKBITS_SO)
	@ln -sf $(notdir $<) $@

$(LIBKBITS_A): $(LIBKBITS_OBJS)
	@echo "  AR      $(@:$(TOP)/%=%)"
	@rm -f $@ && $(AR) rcs $@ $^

$(LIBKBITS_PC): userspace/lib/libkbits.pc.in userspace/lib/lib.mk
	@mkdir -p $(dir $@)
	@echo "  GEN     $(@:$(TOP)/%=%)"
	@sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(LIBKBITS_VERSION)|' $< >$@

$(LIBKBITS_UNINSTALLED_PC): userspace/lib/libkbits.pc.in userspace/lib/lib.mk
	@mkdir -p $(dir $@)
	@echo "  GEN     $(@:$(TOP)/%=%)"
	@sed -e 's|@PREFIX@|$(TOP)|' -e 's|@LIBDIR@|$(BUILD)/lib|' \
		-e 's|@INCLUDEDIR@|$(TOP)/userspace/include|' -e 's|@VERSION@|$(LIBKBITS_VERSION)|' \
		-e 's|^Cflags: .*|Cflags: -I$${includedir} -I$(TOP)/include/uapi|' $< >$@

-include $(LIBKBITS_OBJS:.o=.d)
