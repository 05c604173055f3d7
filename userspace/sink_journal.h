/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The journald sink: one native journal entry per event, sent with sd_journal_sendv(). Fields
 * are length-delimited in that protocol, so untrusted bytes (a path with a newline, or bytes
 * that are not UTF-8) go into AGENTGUARD_PATH exactly as the kernel saw them and cannot start
 * a field or an entry of their own; only MESSAGE, for people, is escaped (ag_text_str).
 * Field list and MESSAGE_IDs: docs/events.md#journald; explanations: docs/agentguard.catalog.
 */
#ifndef AG_SINK_JOURNAL_H
#define AG_SINK_JOURNAL_H

/* MESSAGE_ID per event kind: fixed forever, generated once. dns, lifecycle, loss: reserved. */
#define AG_MSGID_FILE		"209b2284a7df40fba437b5288ef0aed6"
#define AG_MSGID_EXEC		"4649c2c6a01f4b158d69987a66123dc5"
#define AG_MSGID_NETWORK	"1606a12b0eae470b8213b15b1cfaabf3"
#define AG_MSGID_CONTAINMENT	"7fc972878b1543729f3fdb6308f5a5ce"
#define AG_MSGID_DNS		"62d6a5e0295d4ce2bb4878da44967712"
#define AG_MSGID_LIFECYCLE	"501cd4ad2bfc419c83201a4589f32286"
#define AG_MSGID_LOSS		"0ce2fc624a784c5aa393f12232514d52"

/* Where libsystemd sends native entries; not configurable in libsystemd 252. */
#define AG_JOURNAL_SOCKET	"/run/systemd/journal/socket"

struct ag_event_sink;
struct ag_event;

/*
 * What the journal sees of an event by its schema v1 kind and decision, the same for a host
 * event (ag_journal_send) and a sandbox guest's record (cmd_sandbox.c): the MESSAGE_ID of
 * kind (containment's for any name not listed above), and the PRIORITY of decision: deny 4
 * (warning), would-deny 5 (notice, an audit-mode finding), anything else 6 (info).
 */
const char *ag_journal_message_id(const char *kind);
int ag_journal_priority(const char *decision);
/* Sends one event (fields assembled in s->jbuf). 0, or -errno from sd_journal_sendv. */
int ag_journal_send(struct ag_event_sink *s, const struct ag_event *ev);
/* 0 if journald's socket exists, else -errno: checked before events depend on it. */
int ag_journal_check(void);

#endif /* AG_SINK_JOURNAL_H */
