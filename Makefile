# SPDX-License-Identifier: GPL-2.0
# agentguard. Everything is built into build/; nothing generated is committed.
#
#   make            build/agentguard, build/agentguard-load, guest helpers
#   make demo       install deps, build, run the scripted agent in a microVM
#   make test       install deps, build, run unit, host-native and guest tests (both kernels)
#   make bench      performance table, build/bench.json, bench/results.md (never run by make test)
#   make fuzz       run the libFuzzer targets for a while (FUZZ_SECONDS, default 60 each)
#   make install    PREFIX=/usr/local DESTDIR=: binaries, systemd unit, example policies,
#                   journald catalog, man page
#   V=1             show full commands

.DELETE_ON_ERROR:
.SUFFIXES:

CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= gcc
ARCH ?= x86
BUILD := build

Q := $(if $(filter 1,$(V)),,@)
msg = $(if $(Q),@printf '  %-8s %s\n' "$(1)" "$(2)")

PKGS := libbpf yaml-0.1 libsystemd libcjson libseccomp libnftnl libmnl
USER_CFLAGS := -g -O2 -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes \
	-Wno-unused-parameter -std=gnu11 -D_GNU_SOURCE -Iuserspace -Ibpf -I$(BUILD) \
	$(shell pkg-config --cflags $(PKGS))
USER_LIBS := $(shell pkg-config --libs $(PKGS)) -lelf -lz
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Ibpf -Wall -Werror

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKEL := $(BUILD)/agentguard.skel.h

# The daemon/CLI; lib objects are shared with the host tests.
USER_SRCS := $(wildcard userspace/*.c)
USER_OBJS := $(patsubst userspace/%.c,$(BUILD)/userspace/%.o,$(USER_SRCS))
LIB_OBJS := $(filter-out $(BUILD)/userspace/main.o $(BUILD)/userspace/cmd_%.o,$(USER_OBJS))

.PHONY: all
all: $(BUILD)/agentguard $(BUILD)/agentguard-load guest-bins

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c
	@mkdir -p $(@D)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

# One object, one skeleton: bpftool links the per-concern objects (shared maps are __weak).
$(BUILD)/bpf/agentguard.o: $(BPF_OBJS)
	$(call msg,LINK-BPF,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(SKEL): $(BUILD)/bpf/agentguard.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name agentguard > $@

$(BUILD)/userspace/%.o: userspace/%.c | $(SKEL)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -MMD -MP -c $< -o $@

# Only the loader includes the skeleton; make it rebuild when the BPF side changes.
$(BUILD)/userspace/loader.o: $(SKEL) $(BUILD)/abi_id.h

# The ABI's identity (agentguard_abi.h's hash): an upgrade drains the old build's rings only if
# their records are laid out as this build's.
$(BUILD)/abi_id.h: bpf/agentguard_abi.h
	@mkdir -p $(@D)
	$(Q)printf '#define AG_ABI_ID "%s"\n' "$$(sha256sum $< | cut -d' ' -f1)" > $@

$(BUILD)/agentguard: $(USER_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) -o $@ $^ $(USER_LIBS)

$(BUILD)/agentguard-load: $(BUILD)/agentguard
	$(Q)ln -sf agentguard $@

# Static helpers that guest tests and the demo run inside the microVM (image: /usr/local/bin).
GUEST_HELPERS := $(patsubst tests/helpers/%.c,$(BUILD)/guest-bin/%,$(wildcard tests/helpers/*.c))
$(BUILD)/guest-bin/%: tests/helpers/%.c
	@mkdir -p $(@D)
	$(call msg,CC-STATIC,$@)
	$(Q)$(CC) -static -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -o $@ $<

GUEST_HELPERS += $(patsubst bench/guest/%.c,$(BUILD)/guest-bin/%,$(wildcard bench/guest/*.c))
$(BUILD)/guest-bin/%: bench/guest/%.c
	@mkdir -p $(@D)
	$(call msg,CC-STATIC,$@)
	$(Q)$(CC) -static -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -o $@ $<

.PHONY: guest-bins
guest-bins: $(GUEST_HELPERS) vm-helpers

include vm/vm.mk
-include tests/unit/unit.mk

# Host-native benchmarks (make bench): link the same library objects as the tests.
BENCH_BINS := $(BUILD)/bench/connect_bench $(BUILD)/bench/dns_bench $(BUILD)/bench/compile_bench \
	$(BUILD)/bench/sbxnet_bench
$(BUILD)/bench/%: bench/%.c $(LIB_OBJS)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -MMD -MP -o $@ $< $(LIB_OBJS) $(USER_LIBS)

# The audit benchmark's event generator: its own object and skeleton, never in the product's.
BENCH_BINS += $(BUILD)/bench/audit_bench
$(BUILD)/bench/bpf/%.bpf.o: bench/bpf/%.bpf.c
	@mkdir -p $(@D)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/bench/%.skel.h: $(BUILD)/bench/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $* > $@

$(BUILD)/bench/audit_bench: $(BUILD)/bench/event_gen.skel.h
$(BUILD)/bench/event_gen.skel.h: $(BUILD)/bench/bpf/event_gen.bpf.o

# The path decision at 10 to 100,000 rules (BPF_PROG_TEST_RUN): the product's fs_decide.bpf.h.
BENCH_BINS += $(BUILD)/bench/lookup_bench
$(BUILD)/bench/lookup_bench: $(BUILD)/bench/fs_lookup.skel.h
$(BUILD)/bench/fs_lookup.skel.h: $(BUILD)/bench/bpf/fs_lookup.bpf.o

# Compiler, Landlock-mapping, seq-store and event-file unit tests: no kernel, no privileges.
UNIT_TESTS += $(BUILD)/tests/unit/test_compile $(BUILD)/tests/unit/test_landlock \
	$(BUILD)/tests/unit/test_guest_rx $(BUILD)/tests/unit/test_sbx_policy \
	$(BUILD)/tests/unit/test_sandbox_runner $(BUILD)/tests/unit/test_seqstore \
	$(BUILD)/tests/unit/test_event_file
$(BUILD)/tests/unit/test_compile $(BUILD)/tests/unit/test_landlock $(BUILD)/tests/unit/test_guest_rx \
		$(BUILD)/tests/unit/test_sbx_policy $(BUILD)/tests/unit/test_sandbox_runner \
		$(BUILD)/tests/unit/test_seqstore $(BUILD)/tests/unit/test_event_file: \
		$(BUILD)/tests/unit/%: tests/unit/%.c $(LIB_OBJS)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -MMD -MP -o $@ $< $(LIB_OBJS) $(USER_LIBS) \
		$(shell pkg-config --libs cmocka)
-include tests/host/host.mk
# After host.mk: it appends to HOST_TESTS.
-include tests/unit/events.mk

.PHONY: deps
deps:
	$(Q)scripts/deps.sh

.PHONY: test
test: deps
	$(Q)$(MAKE) --no-print-directory all $(UNIT_TESTS) $(HOST_TESTS) $(FUZZERS)
	$(Q)tests/run

FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz: deps
	$(Q)$(MAKE) --no-print-directory $(FUZZERS)
	$(Q)tests/fuzz/run $(FUZZ_SECONDS)

.PHONY: demo
demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo

.PHONY: bench
bench: deps
	$(Q)scripts/deps.sh --bench
	$(Q)$(MAKE) --no-print-directory all $(BENCH_BINS)
	$(Q)bench/run

# make install: what a host needs to run agentguard as a service.
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR := $(PREFIX)/bin
SYSTEMDUNITDIR ?= $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || \
	echo /lib/systemd/system)
CATALOGDIR ?= $(PREFIX)/lib/systemd/catalog
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/agentguard
SYSCONFDIR ?= /etc

.PHONY: install
install: $(BUILD)/agentguard
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(CATALOGDIR) \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(SYSCONFDIR)/agentguard/examples $(DESTDIR)$(SYSCONFDIR)/default
	install -m 0755 $(BUILD)/agentguard $(DESTDIR)$(BINDIR)/agentguard
	ln -sf agentguard $(DESTDIR)$(BINDIR)/agentguard-load
	sed 's|@BINDIR@|$(BINDIR)|g' scripts/systemd/agentguard.service.in \
		>$(DESTDIR)$(SYSTEMDUNITDIR)/agentguard.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/agentguard.service
	install -m 0644 docs/agentguard.catalog $(DESTDIR)$(CATALOGDIR)/agentguard.catalog
	install -m 0644 docs/agentguard.8 $(DESTDIR)$(MANDIR)/man8/agentguard.8
	ln -sf agentguard.8 $(DESTDIR)$(MANDIR)/man8/agentguard-load.8
	install -m 0644 policy/examples/*.yaml $(DESTDIR)$(SYSCONFDIR)/agentguard/examples/
	install -m 0644 README.md docs/*.md docs/event.schema.json \
		policy/agentguard-policy.schema.json $(DESTDIR)$(DOCDIR)/
	# The service's policy and settings: never overwrite what the operator has.
	[ -e $(DESTDIR)$(SYSCONFDIR)/agentguard/policy.yaml ] || install -m 0644 \
		policy/examples/ci-agent.yaml $(DESTDIR)$(SYSCONFDIR)/agentguard/policy.yaml
	[ -e $(DESTDIR)$(SYSCONFDIR)/default/agentguard ] || install -m 0644 \
		scripts/systemd/agentguard.default $(DESTDIR)$(SYSCONFDIR)/default/agentguard

.PHONY: clean
clean:
	rm -rf $(BUILD)/bpf $(BUILD)/userspace $(BUILD)/agentguard $(BUILD)/agentguard-load \
		$(BUILD)/guest-bin $(BUILD)/tests $(SKEL) $(BUILD)/vm $(BUILD)/images $(BUILD)/run \
		$(BUILD)/bench

-include $(wildcard $(BUILD)/bpf/*.d $(BUILD)/userspace/*.d $(BUILD)/tests/*/*.d \
	$(BUILD)/bench/*.d $(BUILD)/bench/bpf/*.d)
