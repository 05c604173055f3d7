/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Logging: "agentguard: <subsystem>: message" on stderr. Only main-like code (commands) logs;
 * library-like code returns -errno. libbpf's own messages come through here (debug with -v).
 */
#ifndef AG_LOG_H
#define AG_LOG_H

#include <stdbool.h>

extern bool ag_verbose;

void ag_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ag_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ag_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ag_log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Route libbpf's messages to ag_log_debug (warnings to ag_log_warn when verbose). */
void ag_log_setup_libbpf(void);

#endif /* AG_LOG_H */
