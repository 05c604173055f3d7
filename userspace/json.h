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

struct ag_buf {
	char *p;
	size_t len;
	size_t cap;
	bool oom;		/* an append failed; the record must be dropped */
};

void ag_buf_reset(struct ag_buf *b);
void ag_buf_free(struct ag_buf *b);
void ag_buf_put(struct ag_buf *b, const char *s, size_t n);
void ag_buf_puts(struct ag_buf *b, const char *s);
void ag_buf_printf(struct ag_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
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
