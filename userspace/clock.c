// SPDX-License-Identifier: GPL-2.0
#include <time.h>

#include "clock.h"

static long long ns_of(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

long long ag_wall_ns(void)
{
	return ns_of(CLOCK_REALTIME);
}

long long ag_mono_ns(void)
{
	return ns_of(CLOCK_MONOTONIC);
}

long long ag_mono_ms(void)
{
	return ag_mono_ns() / 1000000;
}

void ag_sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}
