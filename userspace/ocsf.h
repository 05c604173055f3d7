/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Events as OCSF 1.1.0 (`agentguard load --format ocsf`), one JSON object per line, for SIEMs
 * that ingest OCSF. Mapping per class and attribute: docs/ocsf.md.
 *   file (open, receive)  1001 File System Activity, activity 14 Open
 *   exec                  1007 Process Activity, activity 1 Launch
 *   network (connect)     4001 Network Activity, activity 1 Open
 *   network (sendmsg)     4001 Network Activity, activity 6 Traffic
 *   network (bind)        4001 Network Activity, activity 99 Other ("Bind")
 *   containment           1003 Kernel Activity, activity 4 Invoke
 * Every event carries the security_control profile (action, disposition); agentguard's own
 * attributes (seq, rule, layer, policy, the schema v1 target) are in "unmapped".
 */
#ifndef AG_OCSF_H
#define AG_OCSF_H

#include "events.h"

#define AG_OCSF_VERSION "1.1.0"

struct ag_ocsf_class {
	unsigned int class_uid;
	unsigned int category_uid;
	unsigned int activity_id;
	const char *class_name;
	const char *category_name;
	const char *activity_name;
};

/* The class and activity an event maps to; type_uid = class_uid * 100 + activity_id. */
void ag_ocsf_classify(const struct ag_event *ev, struct ag_ocsf_class *cls);
/* Appends the event as one OCSF JSON object and a newline. */
void ag_ocsf_format(struct ag_buf *b, const struct ag_event_sink *s, const struct ag_event *ev);

#endif /* AG_OCSF_H */
