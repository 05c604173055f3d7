// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <bpf/libbpf.h>

#include "log.h"

bool ag_verbose;

static void vlog(const char *level, const char *fmt, va_list ap)
{
	fprintf(stderr, "agentguard: %s", level);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

#define AG_LOG_FN(name, prefix, cond)                   \
	void name(const char *fmt, ...)                 \
	{                                               \
		va_list ap;                             \
		if (!(cond))                            \
			return;                         \
		va_start(ap, fmt);                      \
		vlog(prefix, fmt, ap);                  \
		va_end(ap);                             \
	}

AG_LOG_FN(ag_log_error, "error: ", 1)
AG_LOG_FN(ag_log_warn, "warning: ", 1)
AG_LOG_FN(ag_log_info, "", 1)
AG_LOG_FN(ag_log_debug, "debug: ", ag_verbose)

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!ag_verbose)
		return 0;
	fputs(level == LIBBPF_WARN ? "agentguard: libbpf: " : "agentguard: debug: libbpf: ",
	      stderr);
	return vfprintf(stderr, fmt, ap);
}

void ag_log_setup_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
