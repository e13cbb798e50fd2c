/* Disk fill: write argv[1] in 64 KiB chunks until a write fails; say what
 * filesystem it was on, how big, and after how many bytes it stopped. */
#include <fcntl.h>
#include <sys/vfs.h>
#include "progs.h"

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	static char buf[64 << 10];
	memset(buf, 'x', sizeof buf);
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (report("open", fd) < 0)
		return 1;
	struct statfs sf;
	if (fstatfs(fd, &sf) == 0)
		say("statfs: type=0x%lx size=%llu\n", (unsigned long)sf.f_type,
		    (unsigned long long)sf.f_blocks * (unsigned long long)sf.f_bsize);
	unsigned long long total = 0;
	for (;;) {
		ssize_t n = write(fd, buf, sizeof buf);
		if (n < 0) {
			say("write: %s after %llu\n", ename(errno), total);
			break;
		}
		total += (unsigned long long)n;
		if (total > (1ull << 31)) {
			say("write: no limit after %llu\n", total);
			break;
		}
	}
	close(fd);
	return 0;
}
