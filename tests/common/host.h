/* Helpers every suite shares for what it looks at from outside the
 * sandbox: clocks, small files, the host's process table and this
 * process's cgroups. They need only Criterion (and no ringjail): each fails
 * the current test itself where it says so. */
#ifndef RJ_TESTS_HOST_H
#define RJ_TESTS_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* ---- clocks ------------------------------------------------------------ */

/* CLOCK_MONOTONIC, in milliseconds. */
double now_ms(void);
/* Sleep ms milliseconds, whatever signals arrive meanwhile. */
void sleep_ms(int ms);

/* ---- files and text ------------------------------------------------------ */

/* Read a small file whole (NUL-terminated, caller frees); NULL if not. */
char *read_text(const char *path);
bool host_path_exists(const char *path);
/* Remove a directory tree as its owner may (opening folders of mode 0
 * first; not following symlinks). 0 or -1. */
int remove_tree(const char *dir);
/* Whether text (NULL counts as empty) holds line as a whole line. */
bool has_line(const char *text, const char *line);
/* Whether the list (separated by spaces, tabs, newlines or commas) holds
 * word. */
bool has_word(const char *list, const char *word);
/* Whether s is a non-empty string of decimal digits (a pid's name in
 * /proc, a sandbox group's in a pool). */
bool all_digits(const char *s);

/* ---- processes --------------------------------------------------------- */

bool running_as_root(void);
/* Processes (numeric /proc entries) on the host. */
int host_proc_count(void);
/* A host process other than ours whose argv holds marker, or 0. */
pid_t host_find_marker(const char *marker);
/* How many host processes (other than ours) have marker in their argv. */
int host_count_marker(const char *marker);
/* How many host processes (other than ours) have an argv element equal
 * to arg. */
int host_count_arg(const char *arg);
/* How many host processes (other than ours) have exactly argv
 * (NULL-terminated) as their argv. */
int count_procs(const char *const *argv);
/* Children of this process that have not exited (zombies do not count). */
int live_children(void);
/* CPU time (user + system, every thread) of a host process so far, in
 * milliseconds; -1 when it is gone. */
double proc_cpu_ms(pid_t pid);
/* Open file descriptors of this process. */
int count_fds(void);

/* ---- cgroups ----------------------------------------------------------- */

/* The directory of this process's own cgroup in the v1 hierarchy that
 * holds controller ctrl ("memory", "pids", "cpuacct"), or in the v2
 * hierarchy when ctrl is NULL. Caller frees; NULL when there is none. */
char *own_cgroup_dir(const char *ctrl);

#endif
