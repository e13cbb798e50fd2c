/* What one sandbox can do to the others and learn about the host through
 * what they all share: the page cache of the read-only files, locked
 * memory, the caller's inotify instances, and the host-wide files of
 * /proc (locks, keys, timers). */
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "checks.h"

#define MIB (1u << 20)
#define SHARED_SIZE (4 * MIB)

/* ---- the page cache ----------------------------------------------------- */

/* A directory with one file of SHARED_SIZE bytes, written, synced (clean
 * pages are what eviction drops) and read back, so that all of it is in
 * the page cache; readable by the sandbox's user. */
static void make_shared(char *dir, char *file, size_t len)
{
	cr_assert(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	cr_assert_eq(chmod(dir, 0755), 0);
	snprintf(file, len, "%s/data", dir);
	int fd = open(file, O_CREAT | O_RDWR | O_CLOEXEC, 0644);
	cr_assert(fd >= 0, "open %s: %s", file, strerror(errno));
	static char buf[64 * 1024];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (char)(i * 7 + 1);
	for (size_t done = 0; done < SHARED_SIZE; done += sizeof buf)
		cr_assert_eq(write(fd, buf, sizeof buf), (ssize_t)sizeof buf);
	cr_assert_eq(fsync(fd), 0);
	cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
	while (read(fd, buf, sizeof buf) > 0)
		;
	close(fd);
}

/* Pages of the file in the page cache. mincore reports the page cache of
 * a file to its owner, which the test is; the mapping is never touched,
 * and is gone before the sandbox runs (mapped pages are never evicted). */
static size_t cached_pages(const char *file)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	cr_assert(fd >= 0);
	void *p = mmap(NULL, SHARED_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	cr_assert(p != MAP_FAILED, "mmap: %s", strerror(errno));
	static unsigned char vec[SHARED_SIZE / 4096];
	cr_assert_eq(mincore(p, SHARED_SIZE, vec), 0, "mincore: %s", strerror(errno));
	size_t n = 0;
	for (size_t i = 0; i < sizeof vec; i++)
		n += vec[i] & 1;
	munmap(p, SHARED_SIZE);
	close(fd);
	return n;
}

/* Runs `fadvise MODE /data/data` on the shared file mounted read-only, as
 * every sandbox of a judge sees its test data, and checks that all of the
 * file is still cached afterwards. */
static void evict_shared(const char *mode)
{
	char dir[] = "/tmp/rj-hostile-cache-XXXXXX", file[64];
	make_shared(dir, file, sizeof file);
	size_t before = cached_pages(file);
	cr_assert_eq(before, SHARED_SIZE / 4096, "only %zu pages cached to begin with", before);

	rj_plan *p = prog_plan("fadvise", mode, "/data/data", NULL);
	cr_assert_eq(rj_plan_add_mount(p, dir, "/data", 0), 0, "%s", rj_plan_error(p));
	struct outcome o;
	run_plan(p, &o);
	size_t after = cached_pages(file);

	EXPECT_STATUS(&o, RJ_STATUS_OK);
	EXPECT_OUT(&o, "done");
	cr_expect_eq(after, before, "%s evicted %zu of %zu pages of a shared file", mode,
		     before - after, before);
	rj_plan_free(p);
	unlink(file);
	rmdir(dir);
}

Test(hostile, fadvise_cannot_evict_a_shared_file, .timeout = 30)
{
	evict_shared("fadvise");
}

/* The kernel pages out file pages for whoever may write the file: rootless,
 * the sandbox's user owns the caller's files even where they are mounted
 * read-only. */
Test(hostile, madvise_pageout_cannot_evict_a_shared_file, .timeout = 30)
{
	evict_shared("pageout");
}

/* ---- locked memory and inotify -------------------------------------------- */

Test(hostile, memory_cannot_be_locked, .timeout = 30)
{
	rj_plan *p = prog_plan("memlock", NULL);
	struct outcome o;
	run_plan(p, &o);

	EXPECT_STATUS(&o, RJ_STATUS_OK);
	cr_expect_eq(o.res.exit_code, 0, "exit %d: 1 a MAP_LOCKED mapping, 2 SHM_LOCK locked memory",
		     o.res.exit_code);
	EXPECT_OUT(&o, "VmLck: 0 kB");
	EXPECT_NO_OUT(&o, "shmctl(SHM_LOCK): OK");
	rj_plan_free(p);
}

Test(hostile, inotify_is_unavailable, .timeout = 30)
{
	rj_plan *p = prog_plan("inotify", NULL);
	struct outcome o;
	run_plan(p, &o);

	EXPECT_STATUS(&o, RJ_STATUS_OK);
	EXPECT_OUT(&o, "inotify_init1: ENOSYS");
	EXPECT_OUT(&o, "made 0\n");
	rj_plan_free(p);
}

Test(hostile, fanotify_is_a_violation, .timeout = 30)
{
	rj_plan *p = prog_plan("fanotify", NULL);
	struct outcome o;
	run_plan(p, &o);
	EXPECT_VIOLATION(&o, "calling fanotify_init");
	rj_plan_free(p);
}

/* ---- /proc ------------------------------------------------------------------ */

/* What the sandbox read of path with readfile: the text between "open
 * PATH: OK\n" and "\nend PATH", or NULL when it could not open it. */
static char *read_in_box(const struct outcome *o, const char *path)
{
	char head[128], tail[128];
	snprintf(head, sizeof head, "open %s: OK\n", path);
	snprintf(tail, sizeof tail, "\nend %s\n", path);
	const char *b = strstr(o->out, head);
	if (!b)
		return NULL;
	b += strlen(head);
	const char *e = strstr(b, tail);
	cr_assert(e, "no end of %s in the output", path);
	return strndup(b, (size_t)(e - b));
}

Test(hostile, proc_locks_shows_no_lock_of_the_host, .timeout = 30)
{
	char file[] = "/tmp/rj-hostile-lock-XXXXXX";
	int fd = mkstemp(file);
	cr_assert(fd >= 0);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	cr_assert_eq(fcntl(fd, F_OFD_SETLK, &fl), 0, "F_OFD_SETLK: %s", strerror(errno));
	int fd2 = open(file, O_RDONLY | O_CLOEXEC);
	cr_assert_eq(flock(fd2, LOCK_SH), 0);
	char *host = read_text("/proc/locks");
	cr_assert(host && *host, "the host's /proc/locks shows no lock while we hold two");

	rj_plan *p = prog_plan("readfile", "/proc/locks", NULL);
	struct outcome o;
	run_plan(p, &o);
	char *seen = read_in_box(&o, "/proc/locks");

	EXPECT_STATUS(&o, RJ_STATUS_OK);
	cr_expect(!seen || !*seen, "the sandbox read the host's locks:\n%s", seen);
	free(seen);
	free(host);
	rj_plan_free(p);
	close(fd2);
	close(fd);
	unlink(file);
}

/* Rootless, the sandbox's user is the caller, and /proc/keys lists every
 * key of a user the reader's namespace maps. */
Test(hostile, proc_keys_shows_no_key_of_the_caller, .timeout = 30)
{
	char desc[64];
	snprintf(desc, sizeof desc, "rj-hostile-key-%d", getpid());
	long key = syscall(SYS_add_key, "user", desc, "secret", 6, KEY_SPEC_PROCESS_KEYRING);
	if (key < 0)
		cr_skip_test("no key can be added here (add_key: %s)", strerror(errno));

	rj_plan *p = prog_plan("readfile", "/proc/keys", "/proc/key-users", NULL);
	struct outcome o;
	run_plan(p, &o);

	EXPECT_STATUS(&o, RJ_STATUS_OK);
	EXPECT_NO_OUT(&o, desc);
	char *keys = read_in_box(&o, "/proc/keys");
	char *users = read_in_box(&o, "/proc/key-users");
	cr_expect(!keys || !*keys, "/proc/keys shows:\n%s", keys);
	cr_expect(!users || !*users, "/proc/key-users shows:\n%s", users);
	free(keys);
	free(users);
	syscall(SYS_keyctl, KEYCTL_INVALIDATE, key);
	rj_plan_free(p);
}

/* The host-wide files of /proc that a container runtime masks, where the
 * host has them: each reads as empty in the sandbox. With a mount outside
 * /box and /tmp, root mode builds the whole root for the run instead of
 * copying the prepared one: both paths must mask. */
static void expect_proc_masked(bool per_run)
{
	static const char *const masked[] = {
		"/proc/locks", "/proc/keys", "/proc/key-users", "/proc/timer_list",
		"/proc/sched_debug", "/proc/kallsyms", "/proc/sysrq-trigger",
		"/proc/kcore",
	};
	const char *argv[16] = { 0 };
	size_t n = 0;
	for (size_t i = 0; i < sizeof masked / sizeof *masked; i++)
		if (host_path_exists(masked[i]))
			argv[n++] = masked[i];
	rj_plan *p = prog_plan("readfile", argv[0], argv[1], argv[2], argv[3], argv[4],
			       argv[5], argv[6], argv[7], NULL);
	char dir[] = "/tmp/rj-hostile-mask-XXXXXX";
	cr_assert(mkdtemp(dir));
	if (per_run)
		cr_assert_eq(rj_plan_add_mount(p, dir, "/data", 0), 0, "%s", rj_plan_error(p));
	struct outcome o;
	run_plan(p, &o);

	EXPECT_STATUS(&o, RJ_STATUS_OK);
	for (size_t i = 0; i < n; i++) {
		char *seen = read_in_box(&o, argv[i]);
		cr_expect(seen, "%s cannot be opened: not masked but refused", argv[i]);
		cr_expect(!seen || !*seen, "%s shows %zu bytes", argv[i], seen ? strlen(seen) : 0);
		free(seen);
	}
	rj_plan_free(p);
	rmdir(dir);
}

Test(hostile, host_wide_proc_files_read_empty, .timeout = 30)
{
	expect_proc_masked(false);
}

Test(hostile, host_wide_proc_files_read_empty_in_a_root_built_per_run, .timeout = 30)
{
	expect_proc_masked(true);
}

/* Every id= option of the sandbox's mount table (uid=, gid=) must be
 * `allowed`, or there must be none when allowed is -1. */
static void expect_ids(const char *text, const char *opt, long allowed)
{
	for (const char *s = strstr(text, opt); s; s = strstr(s + 1, opt)) {
		long v = strtol(s + strlen(opt), NULL, 10);
		cr_expect(allowed >= 0 && v == allowed, "the mount table shows %s%ld", opt, v);
	}
}

/* The prepared path (root mode) mounts /box and /tmp as root before the
 * sandbox's user namespace exists, so nothing obliges it to name the
 * sandbox's host uid in their options, and the mount table is the
 * program's to read. Rootless the tmpfs is mounted inside the namespace
 * and the kernel shows its owner's host id: the caller's own. */
Test(hostile, mountinfo_shows_no_host_uid_of_the_sandbox, .timeout = 30)
{
	rj_plan *p = prog_plan("readfile", "/proc/self/mountinfo", NULL);
	struct outcome o;
	run_plan(p, &o);

	EXPECT_STATUS(&o, RJ_STATUS_OK);
	EXPECT_OUT(&o, " /box ");
	expect_ids(o.out, ",uid=", running_as_root() ? -1 : (long)getuid());
	expect_ids(o.out, ",gid=", running_as_root() ? -1 : (long)getgid());
	rj_plan_free(p);
}
