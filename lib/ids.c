/* Host uid/gid per concurrent sandbox in root mode. Two sandboxes never
 * share an owner, across every ringjail process on the host: each id is a
 * byte of one lock file, held with an open-file-description lock (one fd
 * per executor, not one per id, and released by the kernel if we die). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define LOCK_DIR "/run/ringjail"
#define LOCK_FILE LOCK_DIR "/ids.lock"

struct rj__ids {
	int fd;
	uint32_t base, count, cursor;
	uint8_t *held;    /* ids this executor holds (the lock is ours too) */
};

int rj__ids_new(struct rj__ids **out, uint32_t base, uint32_t count, char *err, size_t errlen)
{
	if (count == 0 || (uint64_t)base + count > 0xfffffffeull) {
		rj__fmt(err, errlen, "uid range %u+%u is not valid", base, count);
		return -EINVAL;
	}
	struct rj__ids *ids = calloc(1, sizeof *ids);
	if (!ids || !(ids->held = calloc(count, 1))) {
		free(ids);
		return -ENOMEM;
	}
	mkdir(LOCK_DIR, 0755);
	ids->fd = open(LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (ids->fd < 0) {
		int e = errno;
		rj__fmt(err, errlen, "cannot open the id lock file %s: %s", LOCK_FILE, strerror(e));
		free(ids->held);
		free(ids);
		return -e;
	}
	ids->base = base;
	ids->count = count;
	*out = ids;
	return 0;
}

void rj__ids_free(struct rj__ids *ids)
{
	if (!ids)
		return;
	close(ids->fd); /* releases every lock of ours */
	free(ids->held);
	free(ids);
}

static int lock_byte(int fd, uint32_t i, short type)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = i, .l_len = 1 };
	return fcntl(fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
}

int rj__ids_acquire(struct rj__ids *ids, uint32_t *id)
{
	for (uint32_t n = 0; n < ids->count; n++) {
		uint32_t i = (ids->cursor + n) % ids->count;
		if (ids->held[i])
			continue;
		int r = lock_byte(ids->fd, i, F_WRLCK);
		if (r == -EAGAIN || r == -EACCES)
			continue;
		if (r < 0)
			return r;
		ids->held[i] = 1;
		ids->cursor = (i + 1) % ids->count;
		*id = ids->base + i;
		return 0;
	}
	return -EAGAIN;
}

void rj__ids_release(struct rj__ids *ids, uint32_t id)
{
	uint32_t i = id - ids->base;
	if (i >= ids->count || !ids->held[i])
		return;
	lock_byte(ids->fd, i, F_UNLCK);
	ids->held[i] = 0;
}
