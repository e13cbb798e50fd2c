/* One end of a covert channel between two sandboxes through file locks
 * on read-only files both can see (the system's, bound into every
 * sandbox): a lock needs no write access, and every sandbox shares the
 * inode and so its locks.
 *
 *   lockchan send|recv flock|posix BITS SEED DATA CLOCK ACK
 *
 * The sender puts each bit on DATA (locked or not), then toggles CLOCK;
 * the receiver waits for the toggle, reads DATA and answers by toggling
 * ACK, which the sender waits for before the next bit: a handshake, so no
 * bit is lost whatever the scheduling. Each end only probes the other's
 * locks: flock with LOCK_SH|LOCK_NB (undone at once), or POSIX F_GETLK,
 * which takes nothing. The bits are a xorshift stream from SEED; the
 * receiver prints what it got and the time from first to last bit:
 *   recv bits N errors E us T
 * Static, never sanitized: a workload, not code under test. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

static int posix_mode;

static void set(int fd, int held)
{
	if (!posix_mode) {
		while (flock(fd, held ? LOCK_EX : LOCK_UN) < 0 && errno == EINTR)
			;
		return;
	}
	struct flock fl = { .l_type = held ? F_RDLCK : F_UNLCK, .l_whence = SEEK_SET,
			    .l_start = 0, .l_len = 1 };
	while (fcntl(fd, F_SETLKW, &fl) < 0 && errno == EINTR)
		;
}

/* Whether the other end holds fd's lock. */
static int probe(int fd)
{
	if (!posix_mode) {
		if (flock(fd, LOCK_SH | LOCK_NB) < 0)
			return errno == EWOULDBLOCK;
		flock(fd, LOCK_UN);
		return 0;
	}
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	if (fcntl(fd, F_GETLK, &fl) < 0)
		return 0;
	return fl.l_type != F_UNLCK;
}

static void wait_for(int fd, int held)
{
	while (probe(fd) != held)
		;
}

static uint64_t next_bits(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	if (argc != 8) {
		fprintf(stderr, "usage: lockchan send|recv flock|posix BITS SEED DATA CLOCK ACK\n");
		return 2;
	}
	int sender = !strcmp(argv[1], "send");
	posix_mode = !strcmp(argv[2], "posix");
	long n = atol(argv[3]);
	uint64_t seed = strtoull(argv[4], NULL, 10) | 1;
	int data = open(argv[5], O_RDONLY | O_CLOEXEC);
	int clk = open(argv[6], O_RDONLY | O_CLOEXEC);
	int ack = open(argv[7], O_RDONLY | O_CLOEXEC);
	if (data < 0 || clk < 0 || ack < 0) {
		fprintf(stderr, "lockchan: open: %s\n", strerror(errno));
		return 1;
	}
	long errors = 0;
	double t0 = 0;
	int phase = 0;
	for (long i = 0; i < n; i++) {
		int bit = (int)(next_bits(&seed) >> 63);
		phase = !phase;
		if (sender) {
			set(data, bit);
			set(clk, phase);
			wait_for(ack, phase);
		} else {
			wait_for(clk, phase);
			if (i == 0)
				t0 = now_us();
			errors += probe(data) != bit;
			set(ack, phase);
		}
	}
	if (!sender)
		printf("recv bits %ld errors %ld us %.0f\n", n, errors, now_us() - t0);
	return 0;
}
