/*
 * http.c - incremental HTTP/1.1 parser.
 *
 * summary: finds request and response heads in one direction of a TCP
 *   stream and skips their bodies, so that the Upgrade handshake can be
 *   found after any number of keep-alive or pipelined exchanges.
 * specification: RFC 9112 (HTTP/1.1 message syntax: §2.2 leading empty
 *   lines, §3 request line, §4 status line, §5.2 obsolete line folding,
 *   §6 message body length, §7.1 chunked coding).
 *
 * Written here rather than taken from a library: the parser must be
 * resumable at any byte, keep its memory capped, tolerate the sloppy
 * syntax real clients send (bare LF, folded headers) and report
 * malformations as warnings instead of failing hard. Debian's
 * libllhttp is strict and callback-based in a way that made the "skip
 * bodies, stop after the Upgrade head" control flow awkward; this one is
 * ~400 lines and unit-tested byte by byte.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "capbuf.h"
#include "http.h"
#include "limits.h"

enum state {
	S_HEAD,         /* accumulating a head */
	S_AFTER_HEAD,   /* head returned; waiting for http_set_body */
	S_BODY_LEN,
	S_CHUNK_LINE,
	S_CHUNK_DATA,
	S_CHUNK_CRLF,
	S_TRAILER,
	S_UNTIL_CLOSE,
	S_ERROR,
};

struct http_parser {
	enum state st;
	uint8_t *buf;          /* head block, or a chunk/trailer line; grown
	                          as needed up to LIM_HTTP_HEAD + 1 bytes */
	size_t len, cap;
	size_t line_len;       /* bytes in the current line, CR excluded */
	uint64_t remaining;    /* body or chunk bytes left */
	struct http_head head;
	char *arena;           /* joined header values */
	size_t arena_len, arena_cap;
	size_t raw_len;        /* the last bytes of the arena hold the head as it came */
	const char *err;
	bool too_long;
	bool seen_lf;          /* the head's first line is complete */
	struct capbuf *sink;   /* the current body's bytes go here (decoded
	                          from chunks), up to sink_max; or NULL */
	size_t sink_max;
	bool sink_cut;         /* the body was longer than sink_max */
};

bool http_ascii_ieq(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x + 32);
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y + 32);
		if (x != y)
			return false;
		if (x == 0)
			return true;
	}
}

bool http_list_has(const char *list, const char *token)
{
	if (list == NULL)
		return false;
	size_t tl = strlen(token);
	const char *p = list;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *s = p;
		while (*p && *p != ',')
			p++;
		const char *e = p;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if ((size_t)(e - s) == tl) {
			size_t i = 0;
			for (; i < tl; i++) {
				unsigned char x = (unsigned char)s[i], y = (unsigned char)token[i];
				if (x >= 'A' && x <= 'Z') x = (unsigned char)(x + 32);
				if (y >= 'A' && y <= 'Z') y = (unsigned char)(y + 32);
				if (x != y)
					break;
			}
			if (i == tl)
				return true;
		}
	}
	return false;
}

struct http_parser *http_parser_new(void)
{
	return calloc(1, sizeof(struct http_parser));
}

size_t http_parser_mem(const struct http_parser *hp)
{
	return hp == NULL ? 0 : heap_cost(sizeof(*hp)) + heap_cost(hp->cap) + heap_cost(hp->arena_cap);
}

/* Room for one more byte and the NUL parse_head/take_line add. Why grow:
 * ten thousand idle connections must not hold 64 KiB each. */
static bool buf_room(struct http_parser *hp)
{
	if (hp->len + 2 <= hp->cap)
		return true;
	size_t n = hp->cap ? hp->cap * 2 : 512;
	if (n > LIM_HTTP_HEAD + 2)
		n = LIM_HTTP_HEAD + 2;
	if (n < hp->len + 2)
		return false;
	uint8_t *nb = realloc(hp->buf, n);
	if (nb == NULL)
		return false;
	hp->buf = nb;
	hp->cap = n;
	return true;
}

void http_parser_free(struct http_parser *hp)
{
	if (hp == NULL)
		return;
	free(hp->buf);
	free(hp->arena);
	free(hp);
}

const struct http_head *http_head(const struct http_parser *hp) { return &hp->head; }
const char *http_error(const struct http_parser *hp) { return hp->err ? hp->err : "no error"; }
bool http_error_too_long(const struct http_parser *hp) { return hp->too_long; }
bool http_at_start(const struct http_parser *hp) { return hp->st == S_HEAD && hp->len == 0; }

static enum http_result fail(struct http_parser *hp, const char *why)
{
	hp->st = S_ERROR;
	hp->err = why;
	return HTTP_ERROR;
}

static bool is_tchar(unsigned char c)
{
	/* RFC 9110 §5.6.2 token characters */
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* Joins a repeated header's values with ", " in the arena. */
static const char *join(struct http_parser *hp, const char *old, const char *add)
{
	size_t a = strlen(old), b = strlen(add);
	if (hp->arena_cap - hp->raw_len - hp->arena_len < a + b + 3)
		return old; /* cannot happen: the arena is sized from the head */
	char *d = hp->arena + hp->arena_len;
	memcpy(d, old, a);
	memcpy(d + a, ", ", 2);
	memcpy(d + a + 2, add, b + 1);
	hp->arena_len += a + b + 3;
	return d;
}

static void set_header(struct http_parser *hp, const char *name, const char *value)
{
	static const struct {
		const char *name;
		size_t off;
	} known[] = {
		{ "host", offsetof(struct http_head, host) },
		{ "upgrade", offsetof(struct http_head, upgrade) },
		{ "connection", offsetof(struct http_head, connection) },
		{ "origin", offsetof(struct http_head, origin) },
		{ "user-agent", offsetof(struct http_head, user_agent) },
		{ "sec-websocket-key", offsetof(struct http_head, ws_key) },
		{ "sec-websocket-version", offsetof(struct http_head, ws_version) },
		{ "sec-websocket-protocol", offsetof(struct http_head, ws_protocol) },
		{ "sec-websocket-extensions", offsetof(struct http_head, ws_extensions) },
		{ "sec-websocket-accept", offsetof(struct http_head, ws_accept) },
		{ "content-length", offsetof(struct http_head, content_length) },
		{ "transfer-encoding", offsetof(struct http_head, transfer_encoding) },
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (!http_ascii_ieq(name, known[i].name))
			continue;
		const char **slot = (const char **)(void *)((char *)&hp->head + known[i].off);
		*slot = *slot == NULL ? value : join(hp, *slot, value);
		return;
	}
}

/* Parses the complete head in buf[0..len). */
static enum http_result parse_head(struct http_parser *hp)
{
	char *b = (char *)hp->buf;
	size_t n = hp->len;
	b[n] = '\0';
	memset(&hp->head, 0, sizeof(hp->head));
	hp->arena_len = 0;
	/* the arena: joined header values from its start (at least 2n + 64
	 * bytes), and the head as it came in its last n bytes (the parse below
	 * writes into buf) */
	hp->raw_len = 0;
	if (hp->arena_cap < 3 * n + 64) {
		free(hp->arena);
		hp->arena_cap = 3 * n + 64;
		hp->arena = malloc(hp->arena_cap);
		if (hp->arena == NULL) {
			hp->arena_cap = 0;
			return fail(hp, "out of memory");
		}
	}
	hp->raw_len = n;
	memcpy(hp->arena + hp->arena_cap - n, b, n);
	/* Unfold obsolete line folding: a line starting with SP or HT
	 * continues the previous one (RFC 9112 §5.2). */
	for (size_t i = 1; i + 1 < n; i++) {
		if (b[i] == '\n' && (b[i + 1] == ' ' || b[i + 1] == '\t')) {
			b[i] = ' ';
			if (b[i - 1] == '\r')
				b[i - 1] = ' ';
		}
	}
	char *line = b, *end = b + n;
	bool first = true;
	while (line < end) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		if (nl == NULL)
			nl = end;
		*nl = '\0';
		if (nl > line && nl[-1] == '\r')
			nl[-1] = '\0';
		if (first) {
			first = false;
			if (strncmp(line, "HTTP/", 5) == 0) {
				/* HTTP/1.x SP 3DIGIT SP reason */
				if (line[5] != '1' || line[6] != '.' || line[7] < '0' || line[7] > '9' ||
				    line[8] != ' ')
					return fail(hp, "bad HTTP version in the status line");
				const char *s = line + 9;
				if (s[0] < '1' || s[0] > '5' || s[1] < '0' || s[1] > '9' ||
				    s[2] < '0' || s[2] > '9' || (s[3] != ' ' && s[3] != '\0'))
					return fail(hp, "bad status code");
				hp->head.is_request = false;
				hp->head.minor = line[7] - '0';
				hp->head.status = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
				hp->head.reason = s[3] == ' ' ? s + 4 : "";
			} else {
				/* method SP request-target SP HTTP/1.x */
				char *sp1 = strchr(line, ' ');
				if (sp1 == NULL || sp1 == line)
					return fail(hp, "not an HTTP request line");
				for (char *q = line; q < sp1; q++)
					if (!is_tchar((unsigned char)*q))
						return fail(hp, "not an HTTP request line");
				char *sp2 = strrchr(sp1 + 1, ' ');
				if (sp2 == NULL || sp2 == sp1 + 1)
					return fail(hp, "not an HTTP request line");
				if (strncmp(sp2 + 1, "HTTP/1.", 7) != 0 || sp2[8] < '0' || sp2[8] > '9')
					return fail(hp, strncmp(sp2 + 1, "HTTP/2", 6) == 0 ?
						    "HTTP/2 connection preface" : "bad HTTP version in the request line");
				*sp1 = '\0';
				*sp2 = '\0';
				hp->head.is_request = true;
				hp->head.method = line;
				hp->head.target = sp1 + 1;
				hp->head.minor = sp2[8] - '0';
			}
		} else if (*line != '\0') {
			char *colon = strchr(line, ':');
			/* A line without a colon, or with a bad name, is skipped:
			 * tolerated, as browsers do. */
			if (colon != NULL && colon > line) {
				bool ok = true;
				for (char *q = line; q < colon; q++)
					ok = ok && is_tchar((unsigned char)*q);
				if (ok) {
					*colon = '\0';
					hp->head.nheaders++;
					set_header(hp, line, trim(colon + 1));
				}
			}
		}
		line = nl + 1;
	}
	hp->head.raw = (const uint8_t *)hp->arena + hp->arena_cap - n;
	hp->head.raw_len = n;
	hp->st = S_AFTER_HEAD;
	return HTTP_HEAD;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (*s == '\0')
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

/* Content-Length, allowing a list of identical values ("5, 5"). */
static bool content_length(const char *s, uint64_t *len)
{
	bool have = false;
	uint64_t v = 0;
	char tmp[32];
	while (*s) {
		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		size_t k = 0;
		while (*s && *s != ',' && *s != ' ' && *s != '\t') {
			if (k + 1 >= sizeof(tmp))
				return false;
			tmp[k++] = *s++;
		}
		if (k == 0)
			continue;
		tmp[k] = '\0';
		uint64_t x;
		if (!parse_u64(tmp, &x) || (have && x != v))
			return false;
		v = x;
		have = true;
	}
	*len = v;
	return have;
}

bool http_body_of(const struct http_head *h, const char *req_method,
		  enum http_body *kind, uint64_t *len)
{
	*len = 0;
	if (!h->is_request) {
		if ((req_method && strcmp(req_method, "HEAD") == 0) ||
		    (h->status >= 100 && h->status < 200) || h->status == 204 || h->status == 304) {
			*kind = HTTP_BODY_NONE;
			return true;
		}
		if (req_method && strcmp(req_method, "CONNECT") == 0 && h->status / 100 == 2) {
			*kind = HTTP_BODY_UNTIL_CLOSE;
			return true;
		}
	}
	if (h->transfer_encoding != NULL) {
		/* chunked must be the last coding (RFC 9112 §6.3 item 4) */
		const char *te = h->transfer_encoding;
		size_t n = strlen(te);
		while (n > 0 && (te[n - 1] == ' ' || te[n - 1] == '\t'))
			n--;
		bool chunked = n >= 7 && http_list_has(te + n - 7, "chunked");
		if (chunked) {
			*kind = HTTP_BODY_CHUNKED;
			return true;
		}
		*kind = h->is_request ? HTTP_BODY_NONE : HTTP_BODY_UNTIL_CLOSE;
		return h->is_request ? false : true;
	}
	if (h->content_length != NULL) {
		if (!content_length(h->content_length, len))
			return false;
		*kind = *len > 0 ? HTTP_BODY_LENGTH : HTTP_BODY_NONE;
		return true;
	}
	*kind = h->is_request ? HTTP_BODY_NONE : HTTP_BODY_UNTIL_CLOSE;
	return true;
}

void http_body_sink(struct http_parser *hp, struct capbuf *sink, size_t max)
{
	hp->sink = sink;
	hp->sink_max = max;
	hp->sink_cut = false;
}

bool http_body_cut(const struct http_parser *hp) { return hp->sink_cut; }

/* Body bytes to the sink, if there is one. */
static void sink_add(struct http_parser *hp, const uint8_t *p, size_t n)
{
	if (hp->sink == NULL || n == 0)
		return;
	size_t room = hp->sink_max > hp->sink->len ? hp->sink_max - hp->sink->len : 0;
	size_t k = n < room ? n : room;
	if (k < n)
		hp->sink_cut = true;
	if (k > 0 && !capbuf_add(hp->sink, p, k, hp->sink_max))
		hp->sink_cut = true;
}

void http_set_body(struct http_parser *hp, enum http_body kind, uint64_t len)
{
	if (hp->st != S_AFTER_HEAD)
		return;
	hp->len = hp->line_len = 0;
	switch (kind) {
	case HTTP_BODY_NONE:
		hp->st = S_HEAD;
		break;
	case HTTP_BODY_LENGTH:
		hp->st = len ? S_BODY_LEN : S_HEAD;
		hp->remaining = len;
		break;
	case HTTP_BODY_CHUNKED:
		hp->st = S_CHUNK_LINE;
		break;
	case HTTP_BODY_UNTIL_CLOSE:
		hp->st = S_UNTIL_CLOSE;
		break;
	}
}

/* Accumulates one line (chunk size or trailer) into buf; true when the
 * line is complete (without its CR LF) and NUL-terminated. */
static bool take_line(struct http_parser *hp, const uint8_t *p, size_t n, size_t *i,
		      bool *too_long)
{
	while (*i < n) {
		uint8_t c = p[(*i)++];
		if (c == '\n') {
			if (hp->len > 0 && hp->buf[hp->len - 1] == '\r')
				hp->len--;
			if (!buf_room(hp)) {
				*too_long = true;
				return false;
			}
			hp->buf[hp->len] = '\0';
			return true;
		}
		if (hp->len >= LIM_HTTP_LINE || !buf_room(hp)) {
			*too_long = true;
			return false;
		}
		hp->buf[hp->len++] = c;
	}
	return false;
}

enum http_result http_feed(struct http_parser *hp, const uint8_t *p, size_t n,
			   size_t *consumed)
{
	size_t i = 0;
	enum http_result r = HTTP_MORE;
	bool too_long = false;

	while (i < n && r == HTTP_MORE) {
		switch (hp->st) {
		case S_HEAD:
			while (i < n) {
				uint8_t c = p[i++];
				if (c == '\n') {
					if (hp->line_len == 0) {
						if (hp->len == 0 || (hp->len == 1 && hp->buf[0] == '\r')) {
							hp->len = 0; /* empty line before a message */
							continue;
						}
						if (!buf_room(hp)) {
							*consumed = i;
							return fail(hp, "out of memory");
						}
						hp->buf[hp->len++] = c;
						hp->line_len = 0;
						hp->seen_lf = false;
						r = parse_head(hp);
						break;
					}
					hp->line_len = 0;
				} else if (c != '\r') {
					hp->line_len++;
				}
				/* Why: a peer can send an endless header block. */
				if (hp->len >= LIM_HTTP_HEAD) {
					hp->too_long = true;
					*consumed = i;
					return fail(hp, "HTTP header block over the limit");
				}
				/* Why: so that TLS or any binary protocol is given up at
				 * its first byte instead of being buffered. A message
				 * starts with a method or "HTTP/" (uppercase letters), and
				 * its first line has no control bytes. */
				if (hp->len == 0 && c != '\r' && !(c >= 'A' && c <= 'Z')) {
					*consumed = i;
					return fail(hp, "not HTTP");
				}
				if (!hp->seen_lf && c < 0x20 && c != '\t' && c != '\r' && c != '\n') {
					*consumed = i;
					return fail(hp, "not HTTP");
				}
				if (c == '\n')
					hp->seen_lf = true;
				if (!buf_room(hp)) {
					*consumed = i;
					return fail(hp, "out of memory");
				}
				hp->buf[hp->len++] = c;
			}
			break;
		case S_AFTER_HEAD:
			http_set_body(hp, HTTP_BODY_NONE, 0);
			break;
		case S_BODY_LEN: {
			uint64_t k = n - i < hp->remaining ? n - i : hp->remaining;
			sink_add(hp, p + i, (size_t)k);
			i += (size_t)k;
			hp->remaining -= k;
			if (hp->remaining == 0) {
				hp->st = S_HEAD;
				r = HTTP_BODY_DONE;
			}
			break;
		}
		case S_CHUNK_LINE:
			if (!take_line(hp, p, n, &i, &too_long)) {
				if (too_long) {
					*consumed = i;
					return fail(hp, "chunk size line too long");
				}
				break;
			}
			{
				uint64_t v = 0;
				size_t k = 0;
				const char *s = (const char *)hp->buf;
				while (s[k] == ' ' || s[k] == '\t')
					k++;
				size_t start = k;
				for (; s[k]; k++) {
					int d;
					char ch = s[k];
					if (ch >= '0' && ch <= '9') d = ch - '0';
					else if (ch >= 'a' && ch <= 'f') d = ch - 'a' + 10;
					else if (ch >= 'A' && ch <= 'F') d = ch - 'A' + 10;
					else break;
					/* Why: a 2^64 chunk size would wrap. */
					if (v >> 60) {
						*consumed = i;
						return fail(hp, "chunk size too large");
					}
					v = v << 4 | (uint64_t)d;
				}
				if (k == start || (s[k] != '\0' && s[k] != ';' && s[k] != ' ' && s[k] != '\t')) {
					*consumed = i;
					return fail(hp, "bad chunk size");
				}
				hp->len = 0;
				hp->remaining = v;
				hp->st = v == 0 ? S_TRAILER : S_CHUNK_DATA;
			}
			break;
		case S_CHUNK_DATA: {
			uint64_t k = n - i < hp->remaining ? n - i : hp->remaining;
			sink_add(hp, p + i, (size_t)k);
			i += (size_t)k;
			hp->remaining -= k;
			if (hp->remaining == 0) {
				hp->st = S_CHUNK_CRLF;
				hp->len = 0;
			}
			break;
		}
		case S_CHUNK_CRLF:
			if (!take_line(hp, p, n, &i, &too_long)) {
				if (too_long) {
					*consumed = i;
					return fail(hp, "missing CRLF after chunk");
				}
				break;
			}
			if (hp->len != 0) {
				*consumed = i;
				return fail(hp, "missing CRLF after chunk");
			}
			hp->st = S_CHUNK_LINE;
			break;
		case S_TRAILER:
			if (!take_line(hp, p, n, &i, &too_long)) {
				if (too_long) {
					*consumed = i;
					return fail(hp, "trailer line too long");
				}
				break;
			}
			if (hp->len == 0) {
				hp->st = S_HEAD;
				r = HTTP_BODY_DONE;
			}
			hp->len = 0;
			break;
		case S_UNTIL_CLOSE:
			sink_add(hp, p + i, n - i);
			i = n;
			break;
		case S_ERROR:
			*consumed = i;
			return HTTP_ERROR;
		}
	}
	*consumed = i;
	if (r == HTTP_MORE && hp->st == S_ERROR)
		return HTTP_ERROR;
	return r;
}
