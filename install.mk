# make install / make uninstall / make deb. See Documentation/install.md.
#
#   make install [DESTDIR=...] [PREFIX=/usr/local]   programs, library, headers,
#        man pages, bash completion, systemd unit, udev rule, modules-load.d
#        entry, and the module's sources for DKMS in /usr/src/kbits-<version>/
#   make uninstall [DESTDIR=...] [PREFIX=...]        removes exactly those files
#   make deb        Debian packages (dpkg-buildpackage, debhelper, dh-dkms) and
#                   lintian, into build/deb/
#
# Every directory can be overridden (BINDIR, SBINDIR, LIBDIR, INCLUDEDIR,
# MANDIR, BASHCOMPDIR, SYSTEMDUNITDIR, UDEVRULESDIR, MODULESLOADDIR, DKMSSRCDIR);
# LIBDIR and INCLUDEDIR come from userspace/lib/lib.mk.

KBITS_VERSION ?= $(LIBKBITS_VERSION)
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
UDEVRULESDIR ?= $(PREFIX)/lib/udev/rules.d
MODULESLOADDIR ?= $(PREFIX)/lib/modules-load.d
# DKMS looks for sources in /usr/src only, whatever the prefix.
DKMSSRCDIR ?= /usr/src

INSTALL ?= install
# The shared library's real file: the ABI major, then minor and patch of
# the ABI (bumped by hand when functions are added).
LIBKBITS_REAL := libkbits.so.$(LIBKBITS_SO_VERSION).0.0
KBITS_DKMS_DIR := $(DKMSSRCDIR)/kbits-$(KBITS_VERSION)
KBITS_MANPAGES := Documentation/man/kbitsctl.8 Documentation/man/kbitsd.8 Documentation/man/libkbits.3

# What `make install` puts where (below $(DESTDIR)); uninstall removes these.
KBITS_INSTALLED := $(SBINDIR)/kbitsd $(BINDIR)/kbitsctl \
	$(LIBDIR)/$(LIBKBITS_REAL) $(LIBDIR)/libkbits.so.$(LIBKBITS_SO_VERSION) \
	$(LIBDIR)/libkbits.so $(LIBDIR)/libkbits.a $(LIBDIR)/pkgconfig/libkbits.pc \
	$(INCLUDEDIR)/kbits.h $(INCLUDEDIR)/linux/kbits.h \
	$(MANDIR)/man8/kbitsctl.8 $(MANDIR)/man8/kbitsd.8 $(MANDIR)/man3/libkbits.3 \
	$(BASHCOMPDIR)/kbitsctl $(SYSTEMDUNITDIR)/kbitsd.service \
	$(UDEVRULESDIR)/60-kbits.rules $(MODULESLOADDIR)/kbits.conf \
	$(addprefix $(KBITS_DKMS_DIR)/,$(MODULE_SOURCES) Makefile dkms.conf)

.PHONY: install uninstall install-files deb install-list

install: userspace
	@$(MAKE) --no-print-directory install-files
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -eq 0 ]; then \
		ldconfig; \
		if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi; \
		if command -v udevadm >/dev/null && [ -d /run/udev ]; then udevadm control --reload || true; fi; \
		echo "  next: dkms install kbits/$(KBITS_VERSION) && modprobe kbits && systemctl enable --now kbitsd"; \
	fi

# Installs what is built, without building (debian/rules builds first).
install-files:
	@echo "  INSTALL $(DESTDIR) (PREFIX=$(PREFIX))"
	@set -e; d='$(DESTDIR)'; \
	$(INSTALL) -d "$$d$(SBINDIR)" "$$d$(BINDIR)" "$$d$(LIBDIR)/pkgconfig" "$$d$(INCLUDEDIR)/linux" \
		"$$d$(MANDIR)/man8" "$$d$(MANDIR)/man3" "$$d$(BASHCOMPDIR)" "$$d$(SYSTEMDUNITDIR)" \
		"$$d$(UDEVRULESDIR)" "$$d$(MODULESLOADDIR)"; \
	$(INSTALL) -m 755 $(BUILD)/bin/kbitsd "$$d$(SBINDIR)/kbitsd"; \
	$(INSTALL) -m 755 $(BUILD)/bin/kbitsctl "$$d$(BINDIR)/kbitsctl"; \
	$(INSTALL) -m 644 $(LIBKBITS_SO) "$$d$(LIBDIR)/$(LIBKBITS_REAL)"; \
	ln -sfn $(LIBKBITS_REAL) "$$d$(LIBDIR)/libkbits.so.$(LIBKBITS_SO_VERSION)"; \
	ln -sfn libkbits.so.$(LIBKBITS_SO_VERSION) "$$d$(LIBDIR)/libkbits.so"; \
	$(INSTALL) -m 644 $(LIBKBITS_A) "$$d$(LIBDIR)/libkbits.a"; \
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
		-e 's|@VERSION@|$(LIBKBITS_VERSION)|' userspace/lib/libkbits.pc.in >"$$d$(LIBDIR)/pkgconfig/libkbits.pc"; \
	chmod 644 "$$d$(LIBDIR)/pkgconfig/libkbits.pc"; \
	$(INSTALL) -m 644 userspace/include/kbits.h "$$d$(INCLUDEDIR)/kbits.h"; \
	$(INSTALL) -m 644 include/uapi/linux/kbits.h "$$d$(INCLUDEDIR)/linux/kbits.h"; \
	$(INSTALL) -m 644 Documentation/man/kbitsctl.8 Documentation/man/kbitsd.8 "$$d$(MANDIR)/man8/"; \
	$(INSTALL) -m 644 Documentation/man/libkbits.3 "$$d$(MANDIR)/man3/"; \
	$(INSTALL) -m 644 packaging/kbitsctl.bash-completion "$$d$(BASHCOMPDIR)/kbitsctl"; \
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' packaging/kbitsd.service.in >"$$d$(SYSTEMDUNITDIR)/kbitsd.service"; \
	chmod 644 "$$d$(SYSTEMDUNITDIR)/kbitsd.service"; \
	$(INSTALL) -m 644 packaging/60-kbits.rules "$$d$(UDEVRULESDIR)/60-kbits.rules"; \
	$(INSTALL) -m 644 packaging/kbits.modules-load.conf "$$d$(MODULESLOADDIR)/kbits.conf"; \
	for f in $(MODULE_SOURCES); do \
		$(INSTALL) -D -m 644 "$$f" "$$d$(KBITS_DKMS_DIR)/$$f"; \
	done; \
	$(INSTALL) -m 644 packaging/dkms.Makefile "$$d$(KBITS_DKMS_DIR)/Makefile"; \
	sed -e 's|#MODULE_VERSION#|$(KBITS_VERSION)|' packaging/dkms.conf >"$$d$(KBITS_DKMS_DIR)/dkms.conf"; \
	chmod 644 "$$d$(KBITS_DKMS_DIR)/dkms.conf"

# The installed paths, one a line (below DESTDIR): the install test reads it.
install-list:
	@printf '%s\n' $(KBITS_INSTALLED)

uninstall:
	@echo "  UNINSTALL $(DESTDIR) (PREFIX=$(PREFIX))"
	@set -e; d='$(DESTDIR)'; \
	for f in $(KBITS_INSTALLED); do rm -f "$$d$$f"; done; \
	rm -rf "$$d$(KBITS_DKMS_DIR)"; \
	rmdir "$$d$(INCLUDEDIR)/linux" 2>/dev/null || true; \
	if [ -z "$$d" ] && [ "$$(id -u)" -eq 0 ]; then \
		ldconfig; \
		if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi; \
	fi

# ---- Debian packages ------------------------------------------------------

DEB_DIR := $(BUILD)/deb
DEB_SRC := $(DEB_DIR)/src/kbits-$(KBITS_VERSION)

# dpkg-buildpackage writes next to the source tree: build from a copy of
# the project's files (tracked and new, not build/) under build/deb/src/.
deb:
	@set -e; v=$$(dpkg-parsechangelog -l debian/changelog -SVersion); \
	if [ "$$v" != "$(KBITS_VERSION)" ]; then \
		echo "debian/changelog is at $$v, the sources at $(KBITS_VERSION): add a changelog entry (dch -v $(KBITS_VERSION))" >&2; \
		exit 1; \
	fi
	@rm -rf $(DEB_DIR) && mkdir -p $(DEB_SRC)
	@if git -C $(TOP) rev-parse --git-dir >/dev/null 2>&1; then \
		git -C $(TOP) ls-files -z --cached --others --exclude-standard | \
			(cd $(TOP) && xargs -0 sh -c 'for f; do [ -e "$$f" ] && printf "%s\0" "$$f"; done' sh) | \
			tar -C $(TOP) --null -T - -cf - | tar -C $(DEB_SRC) -xf -; \
	else \
		tar -C $(TOP) --exclude=./build -cf - . | tar -C $(DEB_SRC) -xf -; \
	fi
	@echo "  DPKG-BUILDPACKAGE build/deb/"
	@cd $(DEB_SRC) && dpkg-buildpackage --build=full -us -uc -j$$(nproc) >$(DEB_DIR)/build.log 2>&1 || \
		{ tail -n 60 $(DEB_DIR)/build.log; exit 1; }
	@tail -n 8 $(DEB_DIR)/build.log
	@mv $(DEB_DIR)/src/*.deb $(DEB_DIR)/src/*.changes $(DEB_DIR)/src/*.buildinfo \
		$(DEB_DIR)/src/*.dsc $(DEB_DIR)/src/*.tar.* $(DEB_DIR)/
	@echo "  LINTIAN build/deb/kbits_$(KBITS_VERSION)_$$(dpkg --print-architecture).changes"
	@cd $(DEB_DIR) && lintian --fail-on error --tag-display-limit 0 \
		kbits_$(KBITS_VERSION)_$$(dpkg --print-architecture).changes 2>&1 | tee lintian.log; \
		rc=$${PIPESTATUS[0]}; \
		echo "  lintian: $$(grep -c '^E:' lintian.log) errors, $$(grep -c '^W:' lintian.log) warnings (build/deb/lintian.log)"; \
		exit $$rc
	@ls -1 $(DEB_DIR)/*.deb | sed 's|^$(TOP)/|  DEB     |'

# ---- the APT method (apt-transport-kbits) ---------------------------------
# apt looks for its methods in /usr/lib/apt/methods only, whatever the prefix.
APTMETHODDIR ?= /usr/lib/apt/methods
KBITS_INSTALLED += $(APTMETHODDIR)/kbits+http $(APTMETHODDIR)/kbits+https \
	$(MANDIR)/man1/apt-transport-kbits.1

.PHONY: install-apt-method
install-files: install-apt-method

# One program; kbits+https is a link to kbits+http (the method reads the
# scheme from each URI, not from its own name).
install-apt-method:
	@set -e; d='$(DESTDIR)'; \
	$(INSTALL) -d "$$d$(APTMETHODDIR)" "$$d$(MANDIR)/man1"; \
	$(INSTALL) -m 755 $(BUILD)/apt/methods/kbits "$$d$(APTMETHODDIR)/kbits+http"; \
	ln -sfn kbits+http "$$d$(APTMETHODDIR)/kbits+https"; \
	$(INSTALL) -m 644 Documentation/man/apt-transport-kbits.1 "$$d$(MANDIR)/man1/apt-transport-kbits.1"
