# SPDX-License-Identifier: GPL-2.0
# Test-bed rules, included by the top-level Makefile (`include vm/vm.mk`) and also usable alone
# (`make -f vm/vm.mk vm-helpers`, which is what vm/mkimage does). Paths are relative to the top
# of the tree. Defines no all/test/demo/bench/clean targets: the top-level Makefile owns those.
#
#   vm-helpers  static guest helpers: vm/guest/*.c -> build/vm/<name>
#   vm-kernels  fetch both guest kernels into build/kernels/{6.12,6.1}
#   vm-images   build (or confirm cached) guest images for both kernels; needs vm-helpers and
#               should run after build/agentguard is built, or the image lacks the daemon
#               (vm/agentguard-vm rebuilds a stale image by itself anyway)

VM_CC ?= gcc
# Static, so the helpers run in the initramfs without any shared library.
VM_CFLAGS ?= -static -O2 -Wall -Werror
VM_Q := $(if $(filter 1,$(V)),,@)

VM_GUEST_SRCS := $(wildcard vm/guest/*.c)
VM_GUEST_BINS := $(patsubst vm/guest/%.c,build/vm/%,$(VM_GUEST_SRCS))

build/vm/%: vm/guest/%.c
	@mkdir -p $(@D)
	$(if $(VM_Q),@echo "  CC-STATIC $@")
	$(VM_Q)$(VM_CC) $(VM_CFLAGS) -o $@ $<

build/kernels/%/vmlinuz:
	$(VM_Q)vm/fetch-kernel $*

.PHONY: vm-helpers vm-kernels vm-images
vm-helpers: $(VM_GUEST_BINS)

vm-kernels: build/kernels/6.12/vmlinuz build/kernels/6.1/vmlinuz

vm-images: vm-helpers vm-kernels
	$(VM_Q)vm/mkimage build/kernels/6.12 >/dev/null
	$(VM_Q)vm/mkimage build/kernels/6.1 >/dev/null
