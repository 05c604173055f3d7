/* SPDX-License-Identifier: GPL-2.0 */
/*
 * FNV-1a, 32 bits: a small non-cryptographic hash of a string, for picking slots. Its values
 * are part of what a sandbox's name maps to (tap name, guest MAC, first /30 tried:
 * sandbox_net.c) and of the resolver's name slots: do not change it.
 */
#ifndef AG_HASH_H
#define AG_HASH_H

#include <linux/types.h>

static inline __u32 ag_fnv1a32(const char *s)
{
	__u32 h = 2166136261u;

	while (*s)
		h = (h ^ (__u8)*s++) * 16777619u;
	return h;
}

#endif /* AG_HASH_H */
