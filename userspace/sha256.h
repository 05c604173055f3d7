/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SHA-256 (FIPS 180-4), small and dependency-free: policies are hashed so events and status can
 * name exactly which bytes were loaded. None of the packages we already link provides it.
 */
#ifndef AG_SHA256_H
#define AG_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define AG_SHA256_LEN 32

struct ag_sha256 {
	uint32_t h[8];
	uint64_t len;		/* bytes hashed so far */
	uint8_t buf[64];
	size_t n;		/* bytes waiting in buf */
};

void ag_sha256_init(struct ag_sha256 *s);
void ag_sha256_update(struct ag_sha256 *s, const void *data, size_t len);
void ag_sha256_final(struct ag_sha256 *s, uint8_t out[AG_SHA256_LEN]);
/* One-shot helper. */
void ag_sha256(const void *data, size_t len, uint8_t out[AG_SHA256_LEN]);
/* Lower-case hex, NUL-terminated: hex must hold 2 * AG_SHA256_LEN + 1 bytes. */
void ag_sha256_hex(const uint8_t digest[AG_SHA256_LEN], char *hex);

#endif /* AG_SHA256_H */
