/* A deterministic byte stream shared by the pattern helper and the tests,
 * so a test can check every byte a sandbox wrote without keeping them. The
 * stream does not depend on how it is cut into chunks. */
#ifndef RJ_TEST_PRNG_H
#define RJ_TEST_PRNG_H

#include <stddef.h>
#include <stdint.h>

struct prng {
	uint64_t state;
	uint64_t word;
	unsigned left; /* bytes of word not handed out yet */
};

static inline void prng_init(struct prng *p, uint64_t seed)
{
	/* xorshift64* must never hold a zero state. */
	p->state = seed ? seed : 0x9e3779b97f4a7c15ull;
	p->word = 0;
	p->left = 0;
}

static inline uint64_t prng_word(struct prng *p)
{
	p->state ^= p->state >> 12;
	p->state ^= p->state << 25;
	p->state ^= p->state >> 27;
	return p->state * 0x2545f4914f6cdd1dull;
}

static inline void prng_fill(struct prng *p, unsigned char *buf, size_t len)
{
	size_t i = 0;
	while (i < len && p->left) {
		buf[i++] = (unsigned char)p->word;
		p->word >>= 8;
		p->left--;
	}
	while (len - i >= 8) {
		uint64_t w = prng_word(p);
		for (int b = 0; b < 8; b++, w >>= 8)
			buf[i++] = (unsigned char)w;
	}
	if (i < len) {
		p->word = prng_word(p);
		p->left = 8;
		while (i < len) {
			buf[i++] = (unsigned char)p->word;
			p->word >>= 8;
			p->left--;
		}
	}
}

#endif
