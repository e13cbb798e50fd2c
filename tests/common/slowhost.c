/* The slowdown factor of slowhost.h, shared by every suite. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "slowhost.h"

/* fork + exec + wait of /bin/true on our machines (2 cores, kernel 6.18):
 * 0.6 to 1 ms idle, 2 to 3 ms while other builds run. The idle figure is
 * the reference, so that a busy slow host gets the larger factor. */
#define REF_MS 1.0
#define SAMPLES 15

static double now_ms_mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* One fork + exec + wait, in ms; a negative value when it failed. */
static double spawn_true_ms(void)
{
	char *const argv[] = { "/bin/true", NULL };
	char *const envp[] = { NULL };
	double t = now_ms_mono();
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		execve(argv[0], argv, envp);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		return -1;
	return now_ms_mono() - t;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double measure(void)
{
	double v[SAMPLES];

	/* The first runs fault in the page cache and the dynamic loader. */
	spawn_true_ms();
	spawn_true_ms();
	for (int i = 0; i < SAMPLES; i++)
		if ((v[i] = spawn_true_ms()) < 0) {
			fprintf(stderr, "RJ_SLOW_HOST: /bin/true did not run; timing "
				"bounds are left as they are\n");
			return 1;
		}
	qsort(v, SAMPLES, sizeof v[0], cmp_double);
	double f = v[SAMPLES / 2] / REF_MS;
	if (f < 1)
		f = 1;
	fprintf(stderr, "RJ_SLOW_HOST: fork+exec+wait of /bin/true takes %.2f ms here "
		"(median of %d), %.1f ms on our machines: timing bounds x%.1f\n",
		v[SAMPLES / 2], SAMPLES, REF_MS, f);
	return f;
}

double host_slowdown(void)
{
	/* Criterion runs each test in a process of its own, so this is
	 * measured once per test that asks. */
	static double factor;
	const char *env = getenv("RJ_SLOW_HOST");

	if (!factor)
		factor = env && env[0] && strcmp(env, "0") ? measure() : 1;
	return factor;
}

double scaled_ms(double ms)
{
	return ms * host_slowdown();
}

uint64_t scaled_us(uint64_t us)
{
	return (uint64_t)((double)us * host_slowdown());
}
