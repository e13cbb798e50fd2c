/* The slot table: one record per sandbox in flight, reused, found again in
 * O(1) from a sandbox's id (the API) or a completion's user_data (the ring),
 * both encoded in executor.h; each slot's entries in the ring's fixed file
 * table; and the release of what a sandbox held. executor.c says when a
 * slot is taken and given back; this file is how. */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "executor.h"

/* A slot off the free list, or a new one while there is room for its
 * index in an id. Slots are never freed before the executor: a completion
 * in flight may still point into one. */
static struct rj__sbx *slot_take(rj_executor *ex)
{
	if (ex->free_head >= 0) {
		struct rj__sbx *s = ex->slots[ex->free_head];
		ex->free_head = s->free_next;
		return s;
	}
	if (ex->nslots >= RJ__MAX_SLOTS)
		return NULL;
	if (ex->nslots == ex->slots_cap) {
		uint32_t cap = ex->slots_cap ? ex->slots_cap * 2 : 64;
		struct rj__sbx **n = realloc(ex->slots, cap * sizeof *n);
		if (!n)
			return NULL;
		ex->slots = n;
		ex->slots_cap = cap;
	}
	struct rj__sbx *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->index = ex->nslots;
	ex->slots[ex->nslots++] = s;
	return s;
}

struct rj__sbx *rj__slot_alloc(rj_executor *ex)
{
	struct rj__sbx *s = slot_take(ex);
	if (!s)
		return NULL;
	uint32_t index = s->index, gen = s->gen;
	memset(s, 0, sizeof *s);
	s->index = index;
	s->gen = gen;
	s->pidfd = s->in_fd = s->out.fd = s->err.fd = s->wd_lock = -1;
	s->in_use = true;
	s->id = rj__slot_id(s);
	return s;
}

void rj__slot_free(rj_executor *ex, struct rj__sbx *s)
{
	s->in_use = false;
	s->gen++;
	s->free_next = ex->free_head;
	ex->free_head = (int)s->index;
}

struct rj__sbx *rj__slot_find(rj_executor *ex, uint64_t id)
{
	uint32_t index = rj__id_index(id);
	if (index >= ex->nslots)
		return NULL;
	struct rj__sbx *s = ex->slots[index];
	return s->in_use && !s->final_sent && s->id == id ? s : NULL;
}

/* Once the ring is gone: nothing points into the slots any more. */
void rj__slots_free(rj_executor *ex)
{
	for (uint32_t i = 0; i < ex->nslots; i++)
		free(ex->slots[i]);
	free(ex->slots);
}

/* ---- fixed files ----------------------------------------------------------
 * A sandbox's pipes (and, on the fallback path, its pidfd) live in the
 * ring's fixed file table, not in our fd table: every clone copies our fd
 * table and every child closes it, so with thousands of sandboxes in flight
 * their fds would make each spawn cost grow with the number running. */

/* The table, RJ__FIXED_PER_SLOT entries per slot, as large as the fd
 * limit allows; without it (an old kernel), the pipes stay ordinary fds. */
void rj__slots_setup_fixed(rj_executor *ex)
{
	struct rlimit rl;
	unsigned n = RJ__MAX_SLOTS * RJ__FIXED_PER_SLOT;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < n)
		n = (unsigned)rl.rlim_cur;
	n -= n % RJ__FIXED_PER_SLOT;
	if (n && io_uring_register_files_sparse(&ex->ring, n) == 0)
		ex->nfixed = n;
}

void rj__slot_fix_files(rj_executor *ex, struct rj__sbx *s)
{
	unsigned base = s->index * RJ__FIXED_PER_SLOT;
	if (base + RJ__FIXED_PER_SLOT > ex->nfixed)
		return;
	/* stdin's write end stays in our own table. The program sees end of
	 * file only once the kernel lets go of that end, and older kernels
	 * (6.1 and 6.12 among them; 6.18 does not) let go of a file removed
	 * from the fixed table only once every fixed-file request in flight
	 * at that moment has completed, this sandbox's own output reads and
	 * pidfd poll among them: the program would wait for ever. */
	int fds[RJ__FIXED_PER_SLOT] = { s->out.fd, s->err.fd, ex->fallback ? s->pidfd : -1 };
	/* -1 entries also drop what the slot's last sandbox left there. */
	if (io_uring_register_files_update(&ex->ring, base, fds, RJ__FIXED_PER_SLOT) < 0)
		return;
	close(s->out.fd);
	close(s->err.fd);
	close(s->pidfd);
	s->out.fd = (int)base;
	s->err.fd = (int)base + 1;
	s->pidfd = ex->fallback ? (int)base + 2 : -1;
	s->fixed = true;
}

void rj__slot_close_stdin(struct rj__sbx *s)
{
	if (s->in_fd < 0)
		return;
	close(s->in_fd);
	s->in_fd = -1;
}

/* ---- release -------------------------------------------------------------- */

/* Give back what one sandbox held (what spawn.c took for it); the caller
 * has reaped it. */
void rj__sandbox_release(rj_executor *ex, struct rj__sbx *s)
{
	rj__slot_close_stdin(s);
	/* Fixed files stay in the ring's table until the slot is reused. */
	if (!s->fixed) {
		if (s->pidfd >= 0)
			close(s->pidfd);
		if (s->out.fd >= 0)
			close(s->out.fd);
		if (s->err.fd >= 0)
			close(s->err.fd);
	}
	s->pidfd = s->out.fd = s->err.fd = -1;
	if (s->cg)
		rj__cg_release(ex->cgs, s->cg);
	s->cg = NULL;
	/* Handed back by the workspace worker, or (a sandbox that never ran,
	 * or an executor shutting down) here. */
	rj__ws_drop(ex, s);
	s->ws_handed = false;
	if (s->wd_lock >= 0) {
		struct rj__handback hb = {
			.box_uid = ex->root ? s->host_uid : (uid_t)-1,
			.uid = s->wd_uid, .gid = s->wd_gid, .chowned_root = s->wd_prepared,
		};
		struct rj__handback_stats hs;
		rj__workdir_hand_back(s->wd_lock, &hb, &hs);
		close(s->wd_lock);
	}
	s->wd_lock = -1;
	s->wd_prepared = false;
	rj__net_release(s);
	if (s->has_uid)
		rj__ids_release(ex->ids, s->host_uid);
	s->has_uid = false;
	free(s->out.cap);
	free(s->err.cap);
	s->out.cap = s->err.cap = NULL;
	free(s->queue);
	s->queue = NULL;
	if (s->pol)
		rj__policy_put(s->pol);
	s->pol = NULL;
}
