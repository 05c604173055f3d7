/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A streaming JSON writer into a growable buffer: no trees, one pass per record. Strings from
 * the sandbox (paths, comm) are untrusted: control characters, quotes and backslashes are
 * escaped, and invalid UTF-8 becomes U+FFFD, so a crafted file name can neither break nor
 * forge a record.
 */
#ifndef AG_JSON_H
#define AG_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct ag_buf {
	char *p;
	size_t len;
	size_t cap;
	bool oom;		/* an append failed; the record must be dropped */
};

void ag_buf_reset(struct ag_buf *b);
void ag_buf_free(struct ag_buf *b);
/* Room for n more bytes and the NUL, growing the buffer; false (and oom) if it cannot. */
bool ag_buf_reserve(struct ag_buf *b, size_t n);

/* Inline: a record is some forty appends, most of a few constant bytes. */
static inline void ag_buf_put(struct ag_buf *b, const char *s, size_t n)
{
	if ((b->oom || b->len + n + 1 > b->cap) && !ag_buf_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Inline too: strlen of a literal, or of a choice between literals, is then a constant. */
static inline void ag_buf_puts(struct ag_buf *b, const char *s)
{
	ag_buf_put(b, s, strlen(s));
}

/* A string literal, its length known at compile time. */
#define ag_buf_lit(b, lit) ag_buf_put((b), "" lit, sizeof(lit) - 1)
void ag_buf_printf(struct ag_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Decimal integers, as "%llu" and "%lld" would print them, without a format string to parse. */
void ag_buf_u64(struct ag_buf *b, unsigned long long v);
void ag_buf_i64(struct ag_buf *b, long long v);
/* A quoted JSON string of n bytes. Returns true if the bytes were valid UTF-8. */
bool ag_json_str(struct ag_buf *b, const char *s, size_t n);
/*
 * n untrusted bytes as one line of plain text for logs (journald MESSAGE, OCSF message). Valid
 * UTF-8 is kept; a backslash is doubled; control characters (C0, DEL, and C1 such as CSI) and
 * bytes that are not UTF-8 become \xNN, one per byte. No newline, no terminal escape, and no
 * way to pass one string off as another.
 */
void ag_text_str(struct ag_buf *b, const char *s, size_t n);
/* A quoted base64 string (RFC 4648, padded) of n bytes. */
void ag_json_base64(struct ag_buf *b, const unsigned char *s, size_t n);

#endif /* AG_JSON_H */
