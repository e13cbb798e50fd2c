/* A kept workspace (--workdir) and the caller's directories (--dir) that
 * cannot hurt the host: which directories are refused, who owns what the
 * program made (during the run and after it), set-id bits, depth, hard
 * links, overlayfs, the locked directory being the mounted one, the disk
 * bound, and the hand-back off the event loop. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checks.h"

#define MIB (1ull << 20)
#define SANDBOX_UIDS 2000000000u

static char *make_dir(const char *what)
{
	char *dir = NULL;
	cr_assert(asprintf(&dir, "/tmp/rj-ws-%s-XXXXXX", what) > 0);
	cr_assert(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	return dir;
}

/* ---- refusing directories --------------------------------------------- */

/* Does the library refuse dir as a workdir, at the plan or when the
 * sandbox starts? The message is copied to msg. */
static bool refused(const char *dir, char *msg, size_t len)
{
	const char *argv[] = { "/bin/true", NULL };
	rj_plan *p = cmd_plan(argv);
	msg[0] = '\0';
	if (rj_plan_set_workdir(p, dir) < 0) {
		snprintf(msg, len, "%s", rj_plan_error(p));
		rj_plan_free(p);
		return true;
	}
	struct session s;
	session_start(&s);
	uint64_t id;
	int rc = rj_spawn(s.ex, p, NULL, &id);
	if (rc < 0) {
		snprintf(msg, len, "%s", rj_executor_error(s.ex));
	} else {
		s.n = 1;
		cr_assert(session_wait(&s, 0, 10000));
		snprintf(msg, len, "%s", s.o[0].res.message);
		rc = s.o[0].res.status == RJ_STATUS_SETUP_ERROR ? -1 : 0;
	}
	session_end(&s);
	rj_plan_free(p);
	return rc < 0;
}

#define EXPECT_REFUSED(dir, needle)                                           \
	do {                                                                  \
		char m_[512];                                                 \
		bool r_ = refused(dir, m_, sizeof m_);                        \
		cr_expect(r_, "workdir %s was accepted", dir);                \
		cr_expect(strstr(m_, needle), "workdir %s: message '%s' lacks '%s'", \
			  dir, m_, needle);                                   \
	} while (0)

Test(workspace, workdir_on_a_pseudo_filesystem_is_refused, .timeout = 60)
{
	EXPECT_REFUSED("/proc", "pseudo-filesystem");
	EXPECT_REFUSED("/proc/self", "pseudo-filesystem");
	EXPECT_REFUSED("/proc/sys", "pseudo-filesystem");
	EXPECT_REFUSED("/sys/kernel", "pseudo-filesystem");
	EXPECT_REFUSED("/dev", "devtmpfs");
	if (running_as_root()) {
		/* A folder of devtmpfs that is no mount point. */
		char dev[] = "/dev/rj-ws-XXXXXX";
		cr_assert(mkdtemp(dev));
		EXPECT_REFUSED(dev, "devtmpfs");
		rmdir(dev);
	}
}

Test(workspace, workdir_at_a_mount_point_or_the_root_is_refused, .timeout = 60)
{
	EXPECT_REFUSED("/", "root of a host filesystem");
	EXPECT_REFUSED("/dev/shm", "mount point");
	EXPECT_REFUSED("/etc", "top-level directory");
	if (running_as_root()) {
		char *dir = make_dir("mnt");
		cr_assert_eq(mount("tmpfs", dir, "tmpfs", 0, "size=1m,mode=0700"), 0, "%s", strerror(errno));
		EXPECT_REFUSED(dir, "mount point");
		umount2(dir, MNT_DETACH);
		rmdir(dir);
		free(dir);
	}
}

Test(workspace, workdir_of_another_user_is_refused, .timeout = 60)
{
	if (running_as_root()) {
		char *dir = make_dir("owner");
		cr_assert_eq(chown(dir, 65534, 65534), 0);
		EXPECT_REFUSED(dir, "belongs to uid 65534");
		rmdir(dir);
		free(dir);
	} else {
		EXPECT_REFUSED("/usr/share", "belongs to uid 0");
	}
	char *open_dir = make_dir("everyone");
	cr_assert_eq(chmod(open_dir, 0777), 0);
	EXPECT_REFUSED(open_dir, "writable by every user");
	rmdir(open_dir);
	free(open_dir);
}

/* ---- --dir onto the sandbox's own places ------------------------------- */

Test(workspace, dir_onto_proc_dev_box_or_tmp_is_refused)
{
	const char *argv[] = { "/bin/true", NULL };
	rj_plan *p = cmd_plan(argv);
	const char *bad[] = { "/proc", "/proc/sys", "/proc/self/fd", "/dev", "/dev/shm",
			      "/dev/null", "/box", "/tmp" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		int rc = rj_plan_add_mount(p, "/usr/share", bad[i], 0);
		cr_expect_eq(rc, -EINVAL, "--dir onto %s: %d", bad[i], rc);
		cr_expect(strstr(rj_plan_error(p), bad[i]), "message for %s: '%s'", bad[i],
			  rj_plan_error(p));
	}
	const char *good[] = { "/box/data", "/tmp/data", "/data", "/procfs", "/devices" };
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		cr_expect_eq(rj_plan_add_mount(p, "/usr/share", good[i], 0), 0, "--dir onto %s: %s",
			     good[i], rj_plan_error(p));
	rj_plan_free(p);
}

#ifdef RJ_CLI
Test(workspace, cli_dir_onto_proc_exits_2, .timeout = 30)
{
	if (access(RJ_CLI, X_OK) != 0)
		cr_skip_test("the CLI %s is not reachable by this user", RJ_CLI);
	int out[2];
	cr_assert_eq(pipe(out), 0);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 2);
	posix_spawn_file_actions_addclose(&fa, out[0]);
	char *argv[] = { "ringjail", "run", "--dir", "/tmp:/proc", "--", "/bin/true", NULL };
	extern char **environ;
	pid_t pid;
	cr_assert_eq(posix_spawn(&pid, RJ_CLI, &fa, NULL, argv, environ), 0);
	close(out[1]);
	char msg[1024] = "";
	size_t got = 0;
	ssize_t n;
	while (got < sizeof msg - 1 && (n = read(out[0], msg + got, sizeof msg - 1 - got)) > 0)
		got += (size_t)n;
	msg[got] = '\0';
	close(out[0]);
	posix_spawn_file_actions_destroy(&fa);
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 2, "exit status %d, stderr: %s", WEXITSTATUS(st), msg);
	cr_expect(strstr(msg, "/proc"), "stderr: %s", msg);
}
#endif

/* ---- who owns what ------------------------------------------------------ */

struct census {
	int entries;
	int sandbox_owned;    /* uid or gid in the sandbox range */
	int not_caller;       /* uid other than the caller's */
	int setid;            /* S_ISUID anywhere, S_ISGID on a non-directory */
	char first[512];
};

static struct census *census_now;

static int census_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)flag;
	(void)ftw;
	struct census *c = census_now;
	bool bad = false;
	c->entries++;
	if (st->st_uid >= SANDBOX_UIDS || st->st_gid >= SANDBOX_UIDS)
		c->sandbox_owned++, bad = true;
	if (st->st_uid != getuid())
		c->not_caller++, bad = true;
	if ((st->st_mode & S_ISUID) || (!S_ISDIR(st->st_mode) && (st->st_mode & S_ISGID)))
		c->setid++, bad = true;
	if (bad && !c->first[0])
		snprintf(c->first, sizeof c->first, "%s uid %u gid %u mode %04o", path,
			 st->st_uid, st->st_gid, st->st_mode & 07777);
	return 0;
}

/* Everything below dir, dir included, never following links (and not
 * FTW_MOUNT: it compares st_dev, which overlayfs splits). */
static struct census take_census(const char *dir)
{
	struct census c;
	memset(&c, 0, sizeof c);
	census_now = &c;
	cr_assert_eq(nftw(dir, census_one, 32, FTW_PHYS), 0, "nftw %s: %s", dir, strerror(errno));
	return c;
}

#define EXPECT_ALL_CALLERS(dir)                                               \
	do {                                                                  \
		struct census c_ = take_census(dir);                          \
		cr_expect_eq(c_.sandbox_owned, 0, "%d entries owned by a sandbox id, e.g. %s", \
			     c_.sandbox_owned, c_.first);                     \
		cr_expect_eq(c_.not_caller, 0, "%d entries not the caller's, e.g. %s", \
			     c_.not_caller, c_.first);                        \
		cr_expect_eq(c_.setid, 0, "%d entries with set-id bits, e.g. %s", \
			     c_.setid, c_.first);                             \
	} while (0)

static rj_plan *ws_plan(const char *dir, ...) __attribute__((sentinel));
static rj_plan *ws_plan(const char *dir, ...)
{
	const char *argv[16] = { "./wsprog" };
	size_t n = 1;
	va_list ap;
	va_start(ap, dir);
	const char *a;
	while ((a = va_arg(ap, const char *)) && n < 15)
		argv[n++] = a;
	va_end(ap);
	rj_plan *p = cmd_plan(argv);
	char host[512];
	snprintf(host, sizeof host, "%s/wsprog", PROGS_DIR);
	cr_assert_eq(rj_plan_add_host_file(p, "wsprog", host, RJ_MODE_KEEP_EXEC),
		0, "%s", rj_plan_error(p));
	cr_assert_eq(rj_plan_set_workdir(p, dir), 0, "%s", rj_plan_error(p));
	return p;
}

/* The program's files are the caller's on disk while it runs, not only
 * after: the sandbox's host id never owns anything on the host. */
Test(workspace, files_are_never_owned_by_a_sandbox_id, .timeout = 60)
{
	char *dir = make_dir("idmap");
	rj_plan *p = ws_plan(dir, "owner", NULL);
	struct session s;
	session_start(&s);
	int i = session_spawn(&s, p);
	cr_assert(session_wait_output(&s, i, "ready", 10000), "the program never got ready");
	EXPECT_ALL_CALLERS(dir);
	cr_assert(session_wait(&s, i, 10000));
	session_end(&s);
	EXPECT_STATUS(&s.o[i], RJ_STATUS_OK);
	EXPECT_OUT(&s.o[i], "box owner: 1000");
	EXPECT_OUT(&s.o[i], "mine owner: 1000");
	EXPECT_OUT(&s.o[i], "create(sub/inner): OK");
	EXPECT_ALL_CALLERS(dir);
	cr_expect_eq(remove_tree(dir), 0);
	rj_plan_free(p);
	free(dir);
}

/* No set-id bit can be set at all: the filter refuses the modes. */
Test(workspace, setid_modes_are_refused, .timeout = 30)
{
	char *dir = make_dir("setid");
	rj_plan *p = ws_plan(dir, "setid", NULL);
	struct outcome o;
	run_plan(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_OK);
	EXPECT_OUT(&o, "chmod(04755): EPERM");
	EXPECT_OUT(&o, "chmod(02755): EPERM");
	EXPECT_OUT(&o, "fchmod(04755): EPERM");
	EXPECT_OUT(&o, "fchmodat(04755): EPERM");
	EXPECT_OUT(&o, "open(O_CREAT, 04755): EPERM");
	EXPECT_OUT(&o, "creat(02755): EPERM");
	EXPECT_OUT(&o, "chmod(0700): OK");
	EXPECT_OUT(&o, "plain mode: 0700");
	EXPECT_ALL_CALLERS(dir);
	cr_expect_eq(remove_tree(dir), 0);
	rj_plan_free(p);
	free(dir);
}

/* The hand-back itself, with the filter's guard lifted by the caller so
 * the program can set the bits: nothing set-id, nothing of a sandbox id,
 * at any depth and whatever the link count. */
static void allow_chmod(rj_plan *p)
{
	const char *names[] = { "chmod", "fchmod", "fchmodat", "fchmodat2", "open", "openat", "creat" };
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		cr_assert_eq(rj_plan_allow_syscall(p, names[i]), 0, "%s", rj_plan_error(p));
}

Test(workspace, deep_setuid_file_is_handed_back, .timeout = 60)
{
	char *dir = make_dir("deep");
	rj_plan *p = ws_plan(dir, "deep", "300", NULL);
	allow_chmod(p);
	struct outcome o;
	run_plan(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_OK);
	EXPECT_OUT(&o, "chmod(setuid): OK");
	EXPECT_OUT(&o, "deep: OK 300");
	EXPECT_ALL_CALLERS(dir);
	cr_expect_eq(remove_tree(dir), 0);
	rj_plan_free(p);
	free(dir);
}

Test(workspace, hard_linked_setuid_file_is_handed_back, .timeout = 30)
{
	char *dir = make_dir("links");
	rj_plan *p = ws_plan(dir, "hardlink", NULL);
	allow_chmod(p);
	struct outcome o;
	run_plan(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_OK);
	EXPECT_OUT(&o, "chmod(setuid): OK");
	EXPECT_OUT(&o, "link(sub/c): OK");
	EXPECT_ALL_CALLERS(dir);
	cr_expect_eq(remove_tree(dir), 0);
	rj_plan_free(p);
	free(dir);
}

/* overlayfs (Docker's and Podman's roots) gives directories and files
 * different st_dev: the hand-back must still see one mount. */
Test(workspace, workdir_on_overlayfs_is_handed_back, .timeout = 60)
{
	if (!running_as_root())
		cr_skip_test("mounting an overlay on the host needs root");
	char *top = make_dir("overlay");
	char lower[512], upper[512], work[512], merged[512], opts[2048], wd[600];
	snprintf(lower, sizeof lower, "%s/lower", top);
	snprintf(upper, sizeof upper, "%s/upper", top);
	snprintf(work, sizeof work, "%s/work", top);
	snprintf(merged, sizeof merged, "%s/merged", top);
	cr_assert(!mkdir(lower, 0755) && !mkdir(upper, 0755) && !mkdir(work, 0755) && !mkdir(merged, 0755));
	/* The lower layer on another filesystem and no xino: files then
	 * report the upper layer's device, directories the overlay's. */
	cr_assert_eq(mount("tmpfs", lower, "tmpfs", 0, "size=1m"), 0, "%s", strerror(errno));
	snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s,xino=off", lower, upper, work);
	if (mount("overlay", merged, "overlay", 0, opts) < 0) {
		umount2(lower, MNT_DETACH);
		cr_skip_test("this kernel cannot mount overlayfs here: %s", strerror(errno));
	}
	snprintf(wd, sizeof wd, "%s/box", merged);
	cr_assert_eq(mkdir(wd, 0700), 0);
	rj_plan *p = ws_plan(wd, "deep", "5", NULL);
	allow_chmod(p);
	struct outcome o;
	run_plan(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_OK);
	EXPECT_OUT(&o, "chmod(setuid): OK");
	EXPECT_OUT(&o, "deep: OK 5");
	EXPECT_ALL_CALLERS(wd);
	umount2(merged, MNT_DETACH);
	umount2(lower, MNT_DETACH);
	cr_expect_eq(remove_tree(top), 0);
	rj_plan_free(p);
	free(top);
}

/* A program killed at --fsize leaves a file the next run may overwrite,
 * and everything is the caller's after both. */
Test(workspace, fsize_kill_leaves_nothing_to_trip_over, .timeout = 60)
{
	char *dir = make_dir("fsize");
	rj_plan *p = prog_plan("bigfile", "x", "8", NULL);
	cr_assert_eq(rj_plan_set_workdir(p, dir), 0, "%s", rj_plan_error(p));
	cr_assert_eq(rj_plan_set_limit(p, RJ_LIMIT_FSIZE, 1 * MIB), 0);
	struct outcome o1;
	run_plan(p, &o1);
	EXPECT_STATUS(&o1, RJ_STATUS_OUTPUT_LIMIT);
	EXPECT_ALL_CALLERS(dir);

	rj_plan *q = ws_plan(dir, "overwrite", "x", NULL);
	struct outcome o2;
	run_plan(q, &o2);
	EXPECT_STATUS(&o2, RJ_STATUS_OK);
	EXPECT_OUT(&o2, "open: OK");
	EXPECT_OUT(&o2, "write: OK 11");
	char path[512];
	snprintf(path, sizeof path, "%s/x", dir);
	char *text = read_text(path);
	cr_expect(text && !strcmp(text, "second run\n"), "x holds '%.40s'", text ? text : "(nothing)");
	free(text);
	EXPECT_ALL_CALLERS(dir);
	cr_expect_eq(remove_tree(dir), 0);
	rj_plan_free(p);
	rj_plan_free(q);
	free(dir);
}

/* ---- the mounted directory is the locked one --------------------------- */

/* The swapper is a process, not a thread: a second thread in the test
 * would make every clone of the executor one of a threaded process. */
struct swapper {
	char a[256], b[256];
	pid_t pid;
	long *swaps;     /* shared with the swapper */
};

static void swap_start(struct swapper *w)
{
	w->pid = fork();
	cr_assert_geq(w->pid, 0);
	if (w->pid == 0) {
		for (;;)
			if (renameat2(AT_FDCWD, w->a, AT_FDCWD, w->b, RENAME_EXCHANGE) == 0)
				(*w->swaps)++;
	}
}

static void swap_stop(struct swapper *w)
{
	kill(w->pid, SIGKILL);
	waitpid(w->pid, NULL, 0);
}

static void write_id(const char *dir, const char *id)
{
	char path[512];
	snprintf(path, sizeof path, "%s/id", dir);
	FILE *f = fopen(path, "w");
	cr_assert(f);
	fputs(id, f);
	fclose(f);
}

/* Which of the two folders is locked now, by its id file. */
static char locked_id(const struct swapper *w)
{
	const char *dirs[] = { w->a, w->b };
	char id = '?';
	for (int i = 0; i < 2; i++) {
		int fd = open(dirs[i], O_RDONLY | O_DIRECTORY);
		cr_assert_geq(fd, 0);
		if (flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK) {
			char path[512];
			snprintf(path, sizeof path, "%s/id", dirs[i]);
			char *t = read_text(path);
			id = t ? t[0] : '!';
			free(t);
		}
		close(fd);
	}
	return id;
}

/* The workdir's path is swapped with another folder as fast as the kernel
 * allows while sandboxes start: each must run in the folder it locked. */
Test(workspace, the_mounted_workdir_is_the_locked_one, .timeout = 120)
{
	char *top = make_dir("swap");
	struct swapper w;
	memset(&w, 0, sizeof w);
	w.swaps = mmap(NULL, sizeof *w.swaps, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert(w.swaps != MAP_FAILED);
	snprintf(w.a, sizeof w.a, "%s/a", top);
	snprintf(w.b, sizeof w.b, "%s/b", top);
	cr_assert(!mkdir(w.a, 0700) && !mkdir(w.b, 0700));
	write_id(w.a, "A");
	write_id(w.b, "B");
	int mismatches = 0, refused = 0, runs = 40;
	for (int k = 0; k < runs; k++) {
		rj_plan *p = ws_plan(w.a, "hold", "0.2", NULL);
		swap_start(&w);
		struct session s;
		session_start(&s);
		int i = session_spawn(&s, p);
		bool seen = session_wait_output(&s, i, "id=", 10000);
		swap_stop(&w);
		char locked = locked_id(&w);
		cr_assert(session_wait(&s, i, 10000));
		session_end(&s);
		const char *at = s.o[i].out ? strstr(s.o[i].out, "id=") : NULL;
		char saw = seen && at ? at[3] : '?';
		/* Rootless, the child looks the path up itself: when it no longer
		 * names the locked folder, the run is refused (ESTALE), never run
		 * elsewhere. */
		if (s.o[i].res.status == RJ_STATUS_SETUP_ERROR && !running_as_root() &&
		    strstr(s.o[i].res.message, strerror(ESTALE))) {
			refused++;
		} else if (s.o[i].res.status != RJ_STATUS_OK || saw != locked ||
		    !strstr(s.o[i].out, "create(seen): OK")) {
			mismatches++;
			cr_log_error("run %d: status %s, the sandbox saw %c, %c was locked", k,
				     rj_status_name(s.o[i].res.status), saw, locked);
		}
		rj_plan_free(p);
	}
	cr_log_info("%ld swaps over %d runs, %d refused", *w.swaps, runs, refused);
	cr_expect_eq(mismatches, 0, "%d of %d runs did not run in the folder they locked", mismatches, runs);
	cr_expect_eq(remove_tree(top), 0);
	free(top);
}

/* ---- the disk bound of a workdir ---------------------------------------- */

/* Allocated bytes below dir (du's figure), each inode once is enough here:
 * the programs make no hard links. */
static unsigned long long du_total;

static int du_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)flag;
	(void)ftw;
	du_total += (unsigned long long)st->st_blocks * 512;
	return 0;
}

static unsigned long long disk_usage(const char *dir)
{
	du_total = 0;
	cr_assert_eq(nftw(dir, du_one, 32, FTW_PHYS), 0);
	return du_total;
}

/* Many small files: the accounting kills the run (output_limit, with a
 * message naming the disk limit) soon after it passes the bound. */
Test(workspace, disk_bounds_many_small_files, .timeout = 120)
{
	char *dir = make_dir("diskmany");
	rj_plan *p = ws_plan(dir, "files", "100000", "16384", NULL);
	cr_assert_eq(rj_plan_set_limit(p, RJ_LIMIT_DISK, 8 * MIB), 0, "%s", rj_plan_error(p));
	cr_assert_eq(rj_plan_set_limit(p, RJ_LIMIT_WALL_TIME, 60000000), 0);
	struct outcome o;
	run_plan(p, &o);
	unsigned long long used = disk_usage(dir);
	fprintf(stderr, "the workdir holds %llu KiB after the kill (bound 8192 KiB)\n", used / 1024);
	EXPECT_STATUS(&o, RJ_STATUS_OUTPUT_LIMIT);
	cr_expect(strstr(o.res.message, "disk limit of 8388608 bytes"), "message: %s", o.res.message);
	cr_expect_eq(o.res.enforced[RJ_LIMIT_DISK], RJ_ENFORCE_TIMER);
	EXPECT_NO_OUT(&o, "files: OK");
	cr_expect_gt(used, 8 * MIB, "killed before the bound: %llu bytes", used);
	cr_expect_lt(used, 40 * MIB, "the bound let %llu bytes through", used);
	EXPECT_ALL_CALLERS(dir);
	cr_expect_eq(remove_tree(dir), 0);
	rj_plan_free(p);
	free(dir);
}

/* One large file: --fsize is at most --disk in a workdir, so the kernel
 * stops the file exactly at the bound (SIGXFSZ); the accounting may kill
 * the run a little earlier, as the program's own copy counts too. */
Test(workspace, disk_bounds_one_large_file, .timeout = 60)
{
	char *dir = make_dir("diskbig");
	rj_plan *p = prog_plan("bigfile", "big", "64", NULL);
	cr_assert_eq(rj_plan_set_workdir(p, dir), 0, "%s", rj_plan_error(p));
	cr_assert_eq(rj_plan_set_limit(p, RJ_LIMIT_DISK, 8 * MIB), 0, "%s", rj_plan_error(p));
	struct outcome o;
	run_plan(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_OUTPUT_LIMIT);
	if (o.res.signal == SIGXFSZ)
		cr_expect(strstr(o.res.message, "file size limit of 8388608 bytes"), "message: %s",
			  o.res.message);
	else
		cr_expect(strstr(o.res.message, "disk limit of 8388608 bytes"), "signal %d, message: %s",
			  o.res.signal, o.res.message);
	EXPECT_NO_OUT(&o, "wrote 64 MiB");
	char path[512];
	snprintf(path, sizeof path, "%s/big", dir);
	struct stat st;
	cr_expect_eq(stat(path, &st), 0);
	cr_expect_leq(st.st_size, (off_t)(8 * MIB), "the file has %lld bytes", (long long)st.st_size);
	cr_expect_geq(st.st_size, (off_t)(4 * MIB), "stopped early, at %lld bytes", (long long)st.st_size);
	EXPECT_ALL_CALLERS(dir);
	cr_expect_eq(remove_tree(dir), 0);
	rj_plan_free(p);
	free(dir);
}

/* ---- the hand-back never stalls the other sandboxes ---------------------- */

/* A ends, leaving 150,000 files to hand back, 0.8 s into B's 1 s wall
 * limit: B must still be killed within CLI.md's tolerance (+100 ms). */
Test(workspace, big_hand_back_does_not_stall_other_sandboxes, .timeout = 300)
{
	char *dir = make_dir("bighb");
	rj_plan *a = ws_plan(dir, "many", "150000", "0.8", NULL);
	cr_assert_eq(rj_plan_set_limit(a, RJ_LIMIT_WALL_TIME, 200000000), 0);
	const char *sleep_argv[] = { "/bin/sleep", "10", NULL };
	rj_plan *b = cmd_plan(sleep_argv);
	cr_assert_eq(rj_plan_set_limit(b, RJ_LIMIT_WALL_TIME, 1000000), 0);
	struct session s;
	session_start(&s);
	int ia = session_spawn(&s, a);
	cr_assert(session_wait_output(&s, ia, "ready", 150000), "A never made its files");
	int ib = session_spawn(&s, b);
	cr_assert(session_wait(&s, ib, 20000));
	cr_assert(session_wait(&s, ia, 60000));
	session_end(&s);
	EXPECT_STATUS(&s.o[ia], RJ_STATUS_OK);
	EXPECT_STATUS(&s.o[ib], RJ_STATUS_WALL_TIME_LIMIT);
	cr_expect_leq(s.o[ib].res.wall_ms, 1100, "B's 1 s wall limit held for %.1f ms",
		      s.o[ib].res.wall_ms);
	EXPECT_ALL_CALLERS(dir);
	cr_expect_eq(remove_tree(dir), 0);
	rj_plan_free(a);
	rj_plan_free(b);
	free(dir);
}
