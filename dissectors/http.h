/*
 * http.h - incremental HTTP/1.1 message parser for one direction of a flow.
 *
 * Finds message heads (request or response, decided by the first line),
 * parses their headers, and skips bodies framed by Content-Length, chunked
 * transfer coding, or the end of the connection. Bytes may arrive one at a
 * time. The head block is buffered up to LIM_HTTP_HEAD bytes.
 *
 * Ownership: the parser owns every string in struct http_head; they are
 * valid until the next http_feed or http_parser_free.
 */
#ifndef WSCOPE_HTTP_H
#define WSCOPE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_head {
	bool is_request;
	const char *method;        /* requests */
	const char *target;
	int status;                /* responses */
	const char *reason;
	int minor;                 /* HTTP/1.minor */
	/* Headers wscope uses; repeated headers joined with ", ". NULL if absent. */
	const char *host, *upgrade, *connection, *origin, *user_agent;
	const char *ws_key, *ws_version, *ws_protocol, *ws_extensions, *ws_accept;
	const char *content_length, *transfer_encoding;
	uint32_t nheaders;
	/* The head as it came, start line to the blank line (not NUL-terminated). */
	const uint8_t *raw;
	size_t raw_len;
};

enum http_result {
	HTTP_MORE,       /* all bytes consumed, need more */
	HTTP_HEAD,       /* a head is complete: see http_head(); set its body */
	HTTP_BODY_DONE,  /* the current message's body ended */
	HTTP_ERROR,      /* not HTTP (any more): see http_error() */
};

enum http_body {
	HTTP_BODY_NONE,
	HTTP_BODY_LENGTH,
	HTTP_BODY_CHUNKED,
	HTTP_BODY_UNTIL_CLOSE,
};

struct http_parser;

struct http_parser *http_parser_new(void);
void http_parser_free(struct http_parser *hp);
/* Bytes the parser holds (for the memory cap). */
size_t http_parser_mem(const struct http_parser *hp);

/*
 * Parses from p[0..n). Returns at each head, at each body end, on error, or
 * when everything is consumed; *consumed says how many bytes were used.
 */
enum http_result http_feed(struct http_parser *hp, const uint8_t *p, size_t n,
			   size_t *consumed);

const struct http_head *http_head(const struct http_parser *hp);

/* After HTTP_HEAD: how the body of that message is framed. */
void http_set_body(struct http_parser *hp, enum http_body kind, uint64_t len);

/* The framing RFC 9112 §6 gives a request, or a response to a request with
 * method req_method. *len is set for HTTP_BODY_LENGTH; false if the
 * Content-Length header is malformed. */
bool http_body_of(const struct http_head *h, const char *req_method,
		  enum http_body *kind, uint64_t *len);

/* The body of the message whose head was just returned (call before
 * http_set_body) goes into sink, up to max bytes, chunked coding undone;
 * NULL stops it. The caller owns the buffer. */
struct capbuf;
void http_body_sink(struct http_parser *hp, struct capbuf *sink, size_t max);
/* The sunk body was longer than its max. */
bool http_body_cut(const struct http_parser *hp);

/* True between messages: the next byte would start a new head. */
bool http_at_start(const struct http_parser *hp);

const char *http_error(const struct http_parser *hp);
bool http_error_too_long(const struct http_parser *hp);

/* Case-insensitive ASCII compare, independent of the locale. */
bool http_ascii_ieq(const char *a, const char *b);
/* True if the comma-separated token list has token (any case). */
bool http_list_has(const char *list, const char *token);

#endif
