# SPDX-License-Identifier: GPL-2.0
# The event pipeline's tests (issue #6): schema v1 samples, OCSF, and the journald helper.
# Included by the top-level Makefile after tests/host/host.mk; uses its BUILD, LIB_OBJS,
# USER_CFLAGS and USER_LIBS (which must have libsystemd: sink_journal.c is in LIB_OBJS).
#   build/tests/unit/event_samples   synthetic records of every kind, through the formatters;
#                                    run by tests/unit/test_event_schema.sh (not a cmocka test)
#   build/tests/unit/test_ocsf       cmocka: OCSF classes, ids and hostile strings
#   build/tests/unit/test_event_json cmocka: the JSON writer byte for byte, hostile strings
#   build/tests/host/journal_emit    sends events to journald; run by tests/host/test_journal.sh

UNIT_TESTS += $(BUILD)/tests/unit/event_samples $(BUILD)/tests/unit/test_ocsf \
	$(BUILD)/tests/unit/test_event_json
HOST_TESTS += $(BUILD)/tests/host/journal_emit

$(BUILD)/tests/unit/event_samples: tests/unit/event_samples.c $(LIB_OBJS)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -MMD -MP -o $@ $< $(LIB_OBJS) $(USER_LIBS)

$(BUILD)/tests/unit/test_ocsf: tests/unit/test_ocsf.c $(LIB_OBJS)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -MMD -MP -o $@ $< $(LIB_OBJS) $(USER_LIBS) \
		$(shell pkg-config --libs cmocka libcjson)

$(BUILD)/tests/unit/test_event_json: tests/unit/test_event_json.c $(LIB_OBJS)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -MMD -MP -o $@ $< $(LIB_OBJS) $(USER_LIBS) \
		$(shell pkg-config --libs cmocka)

$(BUILD)/tests/host/journal_emit: tests/host/journal_emit.c $(LIB_OBJS)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -MMD -MP -o $@ $< $(LIB_OBJS) $(USER_LIBS)
