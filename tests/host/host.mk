# SPDX-License-Identifier: GPL-2.0
# Host-native tests (need root; cgroup sock_addr programs load on hosts without BPF-LSM).
# Included by the top-level Makefile; uses its LIB_OBJS, USER_CFLAGS and USER_LIBS.
HOST_TESTS := $(patsubst tests/host/%.c,$(BUILD)/tests/host/%,$(wildcard tests/host/test_*.c))

$(BUILD)/tests/host/%: tests/host/%.c $(LIB_OBJS)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -MMD -MP -o $@ $< $(LIB_OBJS) $(USER_LIBS) \
		$(shell pkg-config --libs cmocka)
