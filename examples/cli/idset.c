/*
 * The ids a batch has seen, for CLI.md's "duplicate ids are detected
 * within a shard".
 *
 * Only a 64-bit hash of each id is kept: a million-line job file must
 * stream in well under 64 MiB, and a million ids as strings with their
 * table would take most of that, where 8-byte hashes at half load take
 * 16 MiB. The cost is a false "duplicate" for two different ids with the
 * same hash, about n^2 / 2^65 for n ids: 3e-8 for a million.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* FNV-1a, then a murmur3 finalizer so that every input bit moves the low
 * bits that index the table. */
static uint64_t hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h ? h : 1; /* 0 marks an empty slot */
}

/* Insert h into a table known to have room; 1 when new, 0 when present. */
static int insert(uint64_t *slots, size_t cap, uint64_t h)
{
	size_t k = (size_t)h & (cap - 1);

	while (slots[k]) {
		if (slots[k] == h)
			return 0;
		k = (k + 1) & (cap - 1);
	}
	slots[k] = h;
	return 1;
}

static int grow(struct cli_idset *s)
{
	size_t cap = s->cap ? s->cap * 2 : 1024;
	uint64_t *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t k = 0; k < s->cap; k++)
		if (s->slots[k])
			insert(slots, cap, s->slots[k]);
	free(s->slots);
	s->slots = slots;
	s->cap = cap;
	return 0;
}

int cli_idset_add(struct cli_idset *s, const char *id)
{
	int rc;

	/* Grow at half load: linear probing stays short there. */
	if ((s->count + 1) * 2 > s->cap && grow(s) < 0)
		return -ENOMEM;
	rc = insert(s->slots, s->cap, hash(id));
	s->count += (size_t)rc;
	return rc;
}

void cli_idset_free(struct cli_idset *s)
{
	free(s->slots);
	memset(s, 0, sizeof(*s));
}
