# SPDX-License-Identifier: GPL-2.0
# kbits.ko from the DKMS source tree (/usr/src/kbits-<version>/). DKMS runs
# `make -C $kernel_source_dir M=$PWD modules` itself (see dkms.conf); this
# file is for building by hand:  make [KDIR=/lib/modules/<release>/build]
# Kbuild reads ./Kbuild, never this file.
KDIR ?= /lib/modules/$(shell uname -r)/build

all modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean

.PHONY: all modules clean
