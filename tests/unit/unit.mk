# SPDX-License-Identifier: GPL-2.0
# Unit tests (cmocka, no kernel) and the policy parser's fuzz target. Included by the top-level
# Makefile; also usable alone:
#   make -f tests/unit/unit.mk build/tests/unit/test_policy_parse
#   make -f tests/unit/unit.mk build/fuzz/fuzz_policy
# Run the fuzzer: build/fuzz/fuzz_policy -max_total_time=60 -dict=tests/fuzz/fuzz_policy.dict \
#   CORPUS_DIR tests/unit/policies   (the first directory collects new inputs)
# Q and msg come from the top-level Makefile; alone they are empty and commands are shown.

CC ?= gcc
CLANG ?= clang
USER_CFLAGS ?= -g -O2 -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes \
	-Wno-unused-parameter -std=gnu11 -D_GNU_SOURCE -Iuserspace -Ibpf -Ibuild
FUZZ_CFLAGS ?= -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-Wall -Wextra -Werror -Wno-unused-parameter -std=gnu11 -D_GNU_SOURCE -Iuserspace

POLICY_PARSE_SRCS := userspace/policy_parse.c userspace/diag.c userspace/sha256.c
POLICY_PARSE_HDRS := userspace/policy.h userspace/sha256.h

UNIT_TESTS += build/tests/unit/test_policy_parse
FUZZERS += build/fuzz/fuzz_policy

build/tests/unit/test_policy_parse: tests/unit/test_policy_parse.c $(POLICY_PARSE_SRCS) \
		$(POLICY_PARSE_HDRS)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -o $@ tests/unit/test_policy_parse.c $(POLICY_PARSE_SRCS) \
		$(shell pkg-config --cflags --libs yaml-0.1 cmocka)

build/fuzz/fuzz_policy: tests/fuzz/fuzz_policy.c $(POLICY_PARSE_SRCS) $(POLICY_PARSE_HDRS)
	@mkdir -p $(@D)
	$(call msg,FUZZ-CC,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_policy.c $(POLICY_PARSE_SRCS) \
		$(shell pkg-config --cflags --libs yaml-0.1)

# The resolver's DNS parser (userspace/dns.c), from bytes the sandbox and upstream send.
FUZZERS += build/fuzz/fuzz_dns
build/fuzz/fuzz_dns: tests/fuzz/fuzz_dns.c userspace/dns.c userspace/dns.h
	@mkdir -p $(@D)
	$(call msg,FUZZ-CC,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -Ibpf -o $@ tests/fuzz/fuzz_dns.c userspace/dns.c

# The host's reader of a sandbox guest's event stream (userspace/guest_rx.c): untrusted bytes.
FUZZERS += build/fuzz/fuzz_guest_rx
build/fuzz/fuzz_guest_rx: tests/fuzz/fuzz_guest_rx.c userspace/guest_rx.c userspace/guest_rx.h \
		userspace/json.c userspace/json.h
	@mkdir -p $(@D)
	$(call msg,FUZZ-CC,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_guest_rx.c userspace/guest_rx.c \
		userspace/json.c $(shell pkg-config --cflags --libs libcjson)
