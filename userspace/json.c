// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

bool ag_buf_reserve(struct ag_buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->oom)
		return false;
	if (b->len + n + 1 <= b->cap)
		return true;
	cap = b->cap ? b->cap : 1024;
	while (cap < b->len + n + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void ag_buf_reset(struct ag_buf *b)
{
	b->len = 0;
	b->oom = false;
	if (b->p)
		b->p[0] = '\0';
}

void ag_buf_free(struct ag_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* One formatting pass when the text fits in the room left; a second only after growing. */
void ag_buf_printf(struct ag_buf *b, const char *fmt, ...)
{
	size_t room = b->cap - b->len;
	va_list ap;
	int n;

	if (b->oom)
		return;
	va_start(ap, fmt);
	n = vsnprintf(room ? b->p + b->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
	} else if ((size_t)n >= room && ag_buf_reserve(b, n)) {
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, n + 1, fmt, ap);
		va_end(ap);
	}
	if (b->oom) {
		if (room)
			b->p[b->len] = '\0';	/* undo a truncated first pass */
		return;
	}
	b->len += n;
}

/*
 * The 8 decimal digits of v < 10^8 as ASCII in one word, the first digit in its low byte: the
 * number split in halves, quarters and digits, all lanes at once (divisions by 100 and 10 as a
 * multiply and a shift, exact below 10^4 and 10^2).
 */
static inline unsigned long long digits8(unsigned long long v)
{
	unsigned long long y = v / 10000 | (v % 10000) << 32, z;

	z = (y * 10486) >> 20 & 0x0000007f0000007fULL;
	y = z | (y - 100 * z) << 16;
	z = (y * 103) >> 10 & 0x000f000f000f000fULL;
	y = z | (y - 10 * z) << 8;
	return y + 0x3030303030303030ULL;
}

/* Decimal digits of v < 10^8, at least 1. */
static inline unsigned int digits_count8(unsigned long long v)
{
	return v < 10000 ? (v < 100 ? 1 + (v >= 10) : 3 + (v >= 1000)) :
			   (v < 1000000 ? 5 + (v >= 100000) : 7 + (v >= 10000000));
}

/*
 * Eight digits at a time, built in a register and stored whole: an event has a dozen numbers.
 * Formatting them two digits at a time on the stack and copying them out in one load stalled
 * that load on the small stores just made (no store-to-load forwarding across them): most of
 * this function's time (perf).
 */
void ag_buf_u64(struct ag_buf *b, unsigned long long v)
{
	unsigned long long w[3];
	unsigned int n, lead;
	char *o;

	if ((b->oom || b->len + 24 + 1 > b->cap) && !ag_buf_reserve(b, 24))
		return;
	o = b->p + b->len;
	if (v < 100000000) {
		n = digits_count8(v);
		w[0] = digits8(v) >> 8 * (8 - n);
		memcpy(o, &w[0], 8);
	} else {
		if (v < 10000000000000000ULL) {
			w[1] = digits8(v % 100000000);
			v /= 100000000;
			n = 8;
		} else {
			w[1] = digits8(v / 100000000 % 100000000);
			w[2] = digits8(v % 100000000);
			v /= 10000000000000000ULL;
			n = 16;
		}
		lead = digits_count8(v);
		w[0] = digits8(v) >> 8 * (8 - lead);
		memcpy(o, &w[0], 8);
		memcpy(o + lead, &w[1], 8);
		if (n == 16)
			memcpy(o + lead + 8, &w[2], 8);
		n += lead;
	}
	o[n] = '\0';
	b->len += n;
}

void ag_buf_i64(struct ag_buf *b, long long v)
{
	if (v < 0) {
		ag_buf_put(b, "-", 1);
		ag_buf_u64(b, -(unsigned long long)v);
	} else {
		ag_buf_u64(b, v);
	}
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one (RFC 3629). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len, i;
	unsigned int cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values above U+10FFFF are invalid. */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Bytes a JSON string takes as they are: printable ASCII but " and \. */
static const bool json_plain[256] = {
	[0x20 ... 0x21] = true,		/* " (0x22) is not */
	[0x23 ... 0x5b] = true,		/* \ (0x5c) is not */
	[0x5d ... 0x7e] = true,
};

#ifdef __SSE2__
/*
 * The bytes of v that a JSON string cannot take as they are, one bit each: below 0x20 or from
 * 0x80 (one signed comparison), DEL, " and \.
 */
static inline unsigned int special16(__m128i v)
{
	__m128i m = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));

	m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)));
	m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
	m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
	return (unsigned int)_mm_movemask_epi8(m);
}
#endif

/*
 * Copies to o the run at s of bytes a JSON string takes as they are; returns its length. o has
 * room for n bytes. Sixteen bytes at a time where the CPU has SSE2, each block stored as it is
 * checked (bytes stored past the run are overwritten by what follows it); strings shorter than
 * that (comm, names), and the rest without SSE2, a byte at a time: a short string copied into
 * a padded block to be checked cost a stalled load (perf), and reading past s + n is not ours.
 */
static size_t copy_plain(char *o, const unsigned char *s, size_t n)
{
	size_t k = 0;

#ifdef __SSE2__
	if (n >= 16) {
		unsigned int m;
		__m128i v;

		for (; k + 16 <= n; k += 16) {
			v = _mm_loadu_si128((const __m128i *)(s + k));
			_mm_storeu_si128((__m128i *)(o + k), v);
			if ((m = special16(v)))
				return k + __builtin_ctz(m);
		}
		if (k == n)
			return n;
		/* The last 16 bytes, overlapping some known plain: bit 0 is then byte k. */
		v = _mm_loadu_si128((const __m128i *)(s + n - 16));
		_mm_storeu_si128((__m128i *)(o + n - 16), v);
		m = special16(v) >> (16 - (n - k));
		return m ? k + __builtin_ctz(m) : n;
	}
#endif
	while (k < n && json_plain[s[k]]) {
		o[k] = s[k];
		k++;
	}
	return k;
}

/*
 * Written where it goes, after one reservation of the most it can take (6 bytes per input
 * byte, "\u00XX"), rather than one append per run and per escape.
 */
bool ag_json_str(struct ag_buf *b, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	bool valid = true;
	size_t i = 0, k;
	char *o;

	if (n > (SIZE_MAX - 2) / 6) {
		b->oom = true;
		return true;
	}
	if ((b->oom || b->len + 6 * n + 2 + 1 > b->cap) && !ag_buf_reserve(b, 6 * n + 2))
		return true;	/* the record is dropped (oom) */
	o = b->p + b->len;
	*o++ = '"';
	while (i < n) {
		unsigned char c = s[i];

		/* Plain bytes go out as a run. */
		k = copy_plain(o, s + i, n - i);
		if (k) {
			o += k;
			i += k;
			continue;
		}
		if (c == '"' || c == '\\') {
			o[0] = '\\';
			o[1] = (char)c;
			o += 2;
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(o, "\\u00", 4);
			o[4] = hex[c >> 4];
			o[5] = hex[c & 15];
			o += 6;
			i++;
		} else if (c < 0x80) {
			*o++ = (char)c;
			i++;
		} else if ((k = utf8_seq(s + i, n - i))) {
			memcpy(o, s + i, k);
			o += k;
			i += k;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3);	/* U+FFFD */
			o += 3;
			valid = false;
			i++;
		}
	}
	*o++ = '"';
	*o = '\0';
	b->len = o - b->p;
	return valid;
}

void ag_text_str(struct ag_buf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, k;

	while (i < n) {
		unsigned char c = s[i];

		if (c == '\\') {
			ag_buf_put(b, "\\\\", 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			ag_buf_printf(b, "\\x%02x", c);
			i++;
		} else if (c < 0x80) {
			ag_buf_put(b, (const char *)&s[i], 1);
			i++;
		} else if ((k = utf8_seq(s + i, n - i)) && !(c == 0xc2 && s[i + 1] < 0xa0)) {
			ag_buf_put(b, (const char *)&s[i], k);
			i += k;
		} else {
			/* Not UTF-8, or a C1 control (U+0080..U+009F): every byte escaped. */
			k = k ? k : 1;
			while (k--)
				ag_buf_printf(b, "\\x%02x", s[i++]);
		}
	}
}

void ag_json_base64(struct ag_buf *b, const unsigned char *s, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, out;
	char *o;

	if (n > (SIZE_MAX - 8) / 2) {
		b->oom = true;
		return;
	}
	out = (n + 2) / 3 * 4 + 2;
	if ((b->oom || b->len + out + 1 > b->cap) && !ag_buf_reserve(b, out))
		return;
	o = b->p + b->len;
	*o++ = '"';
	for (i = 0; i + 2 < n; i += 3) {
		o[0] = tab[s[i] >> 2];
		o[1] = tab[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
		o[2] = tab[((s[i + 1] & 15) << 2) | (s[i + 2] >> 6)];
		o[3] = tab[s[i + 2] & 63];
		o += 4;
	}
	if (n - i == 1) {
		o[0] = tab[s[i] >> 2];
		o[1] = tab[(s[i] & 3) << 4];
		o[2] = '=';
		o[3] = '=';
		o += 4;
	} else if (n - i == 2) {
		o[0] = tab[s[i] >> 2];
		o[1] = tab[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
		o[2] = tab[(s[i + 1] & 15) << 2];
		o[3] = '=';
		o += 4;
	}
	*o++ = '"';
	*o = '\0';
	b->len = o - b->p;
}
