/* flow.c - hash table of flows with an activity list. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "heap.h"

struct flow_table {
	struct flow **buckets;
	uint32_t nbuckets;   /* power of two */
	uint32_t count;
	uint64_t seed;
	struct flow *lru_head, *lru_tail; /* oldest, newest */
};

#define INITIAL_BUCKETS 1024u

bool endpoint_eq(const struct endpoint *a, const struct endpoint *b)
{
	return a->af == b->af && a->port == b->port &&
	       memcmp(a->ip, b->ip, a->af == 4 ? 4 : 16) == 0;
}

static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static uint64_t endpoint_hash(const struct endpoint *e, uint64_t seed)
{
	uint64_t w0, w1;
	memcpy(&w0, e->ip, 8);
	memcpy(&w1, e->ip + 8, 8);
	uint64_t h = mix64(seed ^ w0);
	h = mix64(h ^ w1);
	return mix64(h ^ ((uint64_t)e->port << 8 | e->af));
}

/* Symmetric: the same for (a, b) and (b, a). */
static uint64_t pair_hash(const struct flow_table *t, const struct endpoint *a,
			  const struct endpoint *b)
{
	uint64_t ha = endpoint_hash(a, t->seed), hb = endpoint_hash(b, t->seed);
	return mix64((ha + hb) ^ (ha * hb));
}

struct flow_table *flow_table_new(uint64_t seed)
{
	struct flow_table *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->buckets = calloc(INITIAL_BUCKETS, sizeof(*t->buckets));
	if (t->buckets == NULL) {
		free(t);
		return NULL;
	}
	t->nbuckets = INITIAL_BUCKETS;
	t->seed = seed;
	return t;
}

void flow_table_free(struct flow_table *t)
{
	if (t == NULL)
		return;
	struct flow *f = t->lru_head;
	while (f != NULL) {
		struct flow *n = f->lru_next;
		free(f);
		f = n;
	}
	free(t->buckets);
	free(t);
}

static bool flow_matches(const struct flow *f, const struct endpoint *a,
			 const struct endpoint *b)
{
	return (endpoint_eq(&f->info.ep[0], a) && endpoint_eq(&f->info.ep[1], b)) ||
	       (endpoint_eq(&f->info.ep[0], b) && endpoint_eq(&f->info.ep[1], a));
}

struct flow *flow_table_find(struct flow_table *t, const struct endpoint *a,
			     const struct endpoint *b)
{
	uint64_t h = pair_hash(t, a, b);
	for (struct flow *f = t->buckets[h & (t->nbuckets - 1)]; f != NULL; f = f->hnext)
		if (f->hash == h && flow_matches(f, a, b))
			return f;
	return NULL;
}

/* Doubles the bucket array; on allocation failure keeps the old one
 * (longer chains, still correct). */
static void grow(struct flow_table *t)
{
	uint32_t n = t->nbuckets * 2;
	struct flow **nb = calloc(n, sizeof(*nb));
	if (nb == NULL)
		return;
	for (uint32_t i = 0; i < t->nbuckets; i++) {
		struct flow *f = t->buckets[i];
		while (f != NULL) {
			struct flow *next = f->hnext;
			struct flow **b = &nb[f->hash & (n - 1)];
			f->hnext = *b;
			*b = f;
			f = next;
		}
	}
	free(t->buckets);
	t->buckets = nb;
	t->nbuckets = n;
}

static void lru_unlink(struct flow_table *t, struct flow *f)
{
	if (f->lru_prev)
		f->lru_prev->lru_next = f->lru_next;
	else
		t->lru_head = f->lru_next;
	if (f->lru_next)
		f->lru_next->lru_prev = f->lru_prev;
	else
		t->lru_tail = f->lru_prev;
	f->lru_prev = f->lru_next = NULL;
}

static void lru_append(struct flow_table *t, struct flow *f)
{
	f->lru_prev = t->lru_tail;
	f->lru_next = NULL;
	if (t->lru_tail)
		t->lru_tail->lru_next = f;
	else
		t->lru_head = f;
	t->lru_tail = f;
}

struct flow *flow_table_add(struct flow_table *t, const struct endpoint *initiator,
			    const struct endpoint *responder)
{
	if (t->count >= t->nbuckets && t->nbuckets < (1u << 30))
		grow(t);
	struct flow *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	f->info.ep[0] = *initiator;
	f->info.ep[1] = *responder;
	f->hash = pair_hash(t, initiator, responder);
	struct flow **b = &t->buckets[f->hash & (t->nbuckets - 1)];
	f->hnext = *b;
	*b = f;
	lru_append(t, f);
	tcp_reasm_init(&f->reasm[0]);
	tcp_reasm_init(&f->reasm[1]);
	t->count++;
	return f;
}

void flow_table_remove(struct flow_table *t, struct flow *f)
{
	struct flow **pp = &t->buckets[f->hash & (t->nbuckets - 1)];
	while (*pp != NULL && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp == f)
		*pp = f->hnext;
	lru_unlink(t, f);
	t->count--;
	free(f);
}

void flow_table_touch(struct flow_table *t, struct flow *f)
{
	if (t->lru_tail == f)
		return;
	lru_unlink(t, f);
	lru_append(t, f);
}

struct flow *flow_table_oldest(const struct flow_table *t) { return t->lru_head; }
struct flow *flow_table_newer(const struct flow *f) { return f->lru_next; }
uint32_t flow_table_count(const struct flow_table *t) { return t->count; }

uint64_t flow_table_mem(const struct flow_table *t)
{
	return heap_cost(sizeof(*t)) + heap_cost((uint64_t)t->nbuckets * sizeof(*t->buckets));
}

int flow_dir(const struct flow *f, const struct endpoint *src)
{
	return endpoint_eq(&f->info.ep[0], src) ? 0 : 1;
}
