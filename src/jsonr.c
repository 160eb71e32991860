/*
 * jsonr.c - reading JSON texts that came off the wire (jsonr.h).
 *
 * specification: RFC 8259. Strings must be valid UTF-8 with no raw
 * control characters; surrogate escapes must pair; numbers follow the
 * grammar exactly (no leading zeros, no bare '.', no NaN).
 */
#include "config.h"

#include <string.h>

#include "cursor.h"
#include "jsonr.h"
#include "utf8.h"

static void skip_ws(struct cur *c)
{
	while (cur_has(c, 1)) {
		uint8_t b = cur_peek(c, 0);
		if (b != ' ' && b != '\t' && b != '\n' && b != '\r')
			break;
		cur_skip(c, 1);
	}
}

static bool lit(struct cur *c, const char *word)
{
	size_t k = strlen(word);
	const uint8_t *p = cur_bytes(c, k);
	return p != NULL && memcmp(p, word, k) == 0;
}

static int hexval(uint8_t b)
{
	if (b >= '0' && b <= '9')
		return b - '0';
	if (b >= 'a' && b <= 'f')
		return b - 'a' + 10;
	if (b >= 'A' && b <= 'F')
		return b - 'A' + 10;
	return -1;
}

static bool hex4(struct cur *c, uint32_t *v)
{
	const uint8_t *p = cur_bytes(c, 4);
	if (p == NULL)
		return false;
	*v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(p[i]);
		if (h < 0)
			return false;
		*v = *v << 4 | (uint32_t)h;
	}
	return true;
}

/* A string, its opening quote already read: its unescaped length in *len;
 * with out, the whole characters that fit in cap - 1 bytes copied there
 * (*copied of them). */
static bool string_body(struct cur *c, uint8_t *out, size_t cap, size_t *len, size_t *copied)
{
	size_t n = 0, kept = 0;
	bool full = false;
	for (;;) {
		if (!cur_has(c, 1))
			return false;
		uint8_t b = cur_u8(c);
		uint8_t enc[4];
		size_t k = 0;
		if (b == '"')
			break;
		if (b < 0x20)
			return false;
		if (b == '\\') {
			uint8_t e = cur_u8(c);
			uint32_t cp = 0;
			switch (e) {
			case '"': case '\\': case '/': enc[0] = e; k = 1; break;
			case 'b': enc[0] = '\b'; k = 1; break;
			case 'f': enc[0] = '\f'; k = 1; break;
			case 'n': enc[0] = '\n'; k = 1; break;
			case 'r': enc[0] = '\r'; k = 1; break;
			case 't': enc[0] = '\t'; k = 1; break;
			case 'u':
				if (!hex4(c, &cp))
					return false;
				if (cp >= 0xDC00 && cp <= 0xDFFF)
					return false;
				if (cp >= 0xD800 && cp <= 0xDBFF) {
					uint32_t lo;
					if (!lit(c, "\\u") || !hex4(c, &lo) || lo < 0xDC00 || lo > 0xDFFF)
						return false;
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				}
				k = utf8_encode(cp, enc);
				break;
			default:
				return false;
			}
		} else if (b < 0x80) {
			enc[0] = b;
			k = 1;
		} else {
			/* one UTF-8 sequence, checked whole */
			size_t need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 0;
			if (need == 0 || !cur_has(c, need - 1))
				return false;
			enc[0] = b;
			cur_copy(c, enc + 1, need - 1);
			if (!utf8_valid(enc, need))
				return false;
			k = need;
		}
		if (out != NULL && !full) {
			/* only whole characters, and room for the NUL */
			if (kept + k < cap) {
				memcpy(out + kept, enc, k);
				kept += k;
			} else {
				full = true;
			}
		}
		n += k;
	}
	*len = n;
	if (copied != NULL)
		*copied = kept;
	return true;
}

static bool digits(struct cur *c)
{
	size_t k = 0;
	while (cur_has(c, 1) && cur_peek(c, 0) >= '0' && cur_peek(c, 0) <= '9') {
		cur_skip(c, 1);
		k++;
	}
	return k > 0;
}

static bool number(struct cur *c)
{
	if (cur_has(c, 1) && cur_peek(c, 0) == '-')
		cur_skip(c, 1);
	if (!cur_has(c, 1))
		return false;
	if (cur_peek(c, 0) == '0')
		cur_skip(c, 1);
	else if (!digits(c))
		return false;
	if (cur_has(c, 1) && cur_peek(c, 0) == '.') {
		cur_skip(c, 1);
		if (!digits(c))
			return false;
	}
	if (cur_has(c, 1) && (cur_peek(c, 0) == 'e' || cur_peek(c, 0) == 'E')) {
		cur_skip(c, 1);
		if (cur_has(c, 1) && (cur_peek(c, 0) == '+' || cur_peek(c, 0) == '-'))
			cur_skip(c, 1);
		if (!digits(c))
			return false;
	}
	return true;
}

static enum jsonr_type value(struct cur *c, int depth);

static bool container(struct cur *c, int depth, bool object)
{
	uint8_t close = object ? '}' : ']';
	skip_ws(c);
	if (cur_has(c, 1) && cur_peek(c, 0) == close) {
		cur_skip(c, 1);
		return true;
	}
	for (;;) {
		if (object) {
			size_t len;
			skip_ws(c);
			if (cur_u8(c) != '"' || !string_body(c, NULL, 0, &len, NULL))
				return false;
			skip_ws(c);
			if (cur_u8(c) != ':')
				return false;
		}
		if (value(c, depth + 1) == JSONR_NONE)
			return false;
		skip_ws(c);
		uint8_t b = cur_u8(c);
		if (b == close)
			return true;
		if (b != ',' || !cur_ok(c))
			return false;
	}
}

static enum jsonr_type value(struct cur *c, int depth)
{
	if (depth > JSONR_MAX_DEPTH)
		return JSONR_NONE;
	skip_ws(c);
	if (!cur_has(c, 1))
		return JSONR_NONE;
	uint8_t b = cur_peek(c, 0);
	size_t len;
	switch (b) {
	case '{':
		cur_skip(c, 1);
		return container(c, depth, true) ? JSONR_OBJECT : JSONR_NONE;
	case '[':
		cur_skip(c, 1);
		return container(c, depth, false) ? JSONR_ARRAY : JSONR_NONE;
	case '"':
		cur_skip(c, 1);
		return string_body(c, NULL, 0, &len, NULL) ? JSONR_STRING : JSONR_NONE;
	case 't':
		return lit(c, "true") ? JSONR_TRUE : JSONR_NONE;
	case 'f':
		return lit(c, "false") ? JSONR_FALSE : JSONR_NONE;
	case 'n':
		return lit(c, "null") ? JSONR_NULL : JSONR_NONE;
	default:
		return (b == '-' || (b >= '0' && b <= '9')) && number(c) ? JSONR_NUMBER : JSONR_NONE;
	}
}

struct jsonr_span jsonr_value(const uint8_t *p, size_t n, size_t *used)
{
	struct jsonr_span s = { NULL, 0, JSONR_NONE };
	struct cur c = cur_make(p, n);
	skip_ws(&c);
	const uint8_t *start = cur_ptr(&c);
	size_t before = cur_left(&c);
	enum jsonr_type t = value(&c, 0);
	if (t == JSONR_NONE || !cur_ok(&c)) {
		*used = 0;
		return s;
	}
	s.p = start;
	s.n = before - cur_left(&c);
	s.type = t;
	*used = n - cur_left(&c);
	return s;
}

bool jsonr_whole(const uint8_t *p, size_t n, struct jsonr_span *out)
{
	size_t used;
	*out = jsonr_value(p, n, &used);
	if (out->type == JSONR_NONE)
		return false;
	struct cur c = cur_make(p + used, n - used);
	skip_ws(&c);
	if (cur_left(&c) != 0) {
		out->type = JSONR_NONE;
		return false;
	}
	return true;
}

bool jsonr_next(struct jsonr_span v, size_t *pos, struct jsonr_span *key, struct jsonr_span *val)
{
	if ((v.type != JSONR_OBJECT && v.type != JSONR_ARRAY) || *pos >= v.n)
		return false;
	struct cur c = cur_make(v.p, v.n);
	if (*pos == 0)
		cur_skip(&c, 1); /* the opening bracket */
	else
		cur_skip(&c, *pos);
	skip_ws(&c);
	if (!cur_has(&c, 1) || cur_peek(&c, 0) == '}' || cur_peek(&c, 0) == ']')
		return false;
	if (cur_peek(&c, 0) == ',') {
		cur_skip(&c, 1);
		skip_ws(&c);
	}
	key->type = JSONR_NONE;
	key->p = NULL;
	key->n = 0;
	if (v.type == JSONR_OBJECT) {
		size_t used;
		*key = jsonr_value(cur_ptr(&c), cur_left(&c), &used);
		if (key->type != JSONR_STRING)
			return false;
		cur_skip(&c, used);
		skip_ws(&c);
		if (cur_u8(&c) != ':')
			return false;
	}
	size_t used;
	*val = jsonr_value(cur_ptr(&c), cur_left(&c), &used);
	if (val->type == JSONR_NONE)
		return false;
	cur_skip(&c, used);
	*pos = v.n - cur_left(&c);
	return true;
}

size_t jsonr_count(struct jsonr_span v)
{
	size_t pos = 0, k = 0;
	struct jsonr_span key, val;
	while (jsonr_next(v, &pos, &key, &val))
		k++;
	return k;
}

bool jsonr_member(struct jsonr_span obj, const char *name, struct jsonr_span *out)
{
	static const struct jsonr_span none = { NULL, 0, JSONR_NONE };
	if (obj.type == JSONR_OBJECT) {
		size_t pos = 0;
		struct jsonr_span key;
		while (jsonr_next(obj, &pos, &key, out))
			if (jsonr_str_eq(key, name))
				return true;
	}
	*out = none; /* not the last member, nor what the caller had there */
	return false;
}

size_t jsonr_str(struct jsonr_span s, char *buf, size_t cap)
{
	if (cap > 0)
		buf[0] = '\0';
	if (s.type != JSONR_STRING || cap == 0)
		return 0;
	struct cur c = cur_make(s.p, s.n);
	cur_skip(&c, 1);
	size_t len = 0, kept = 0;
	if (!string_body(&c, (uint8_t *)buf, cap, &len, &kept))
		return 0;
	buf[kept] = '\0';
	return len;
}

bool jsonr_str_eq(struct jsonr_span s, const char *text)
{
	char buf[256];
	size_t k = strlen(text);
	if (k >= sizeof(buf))
		return false;
	size_t len = jsonr_str(s, buf, sizeof(buf));
	return len == k && memcmp(buf, text, k) == 0;
}

bool jsonr_int(struct jsonr_span v, int64_t *out)
{
	if (v.type != JSONR_NUMBER || v.n == 0 || v.n > 20)
		return false;
	size_t i = 0;
	bool neg = v.p[0] == '-';
	if (neg)
		i++;
	uint64_t acc = 0;
	for (; i < v.n; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return false;
		uint64_t d = (uint64_t)(v.p[i] - '0');
		if (acc > (UINT64_C(9223372036854775808) - d) / 10)
			return false;
		acc = acc * 10 + d;
	}
	if (!neg && acc > INT64_MAX)
		return false;
	*out = neg ? (int64_t)(0 - acc) : (int64_t)acc;
	return true;
}
