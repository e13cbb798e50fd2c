/* Evict a shared read-only file from the page cache, for every tenant:
 *   fadvise PATH   posix_fadvise DONTNEED and NOREUSE over the whole file
 *   pageout PATH   map it, touch every page, madvise COLD and PAGEOUT
 * The test looks from the host at which pages are still cached. */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "progs.h"

#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

static int do_fadvise(int fd)
{
	/* posix_fadvise returns the error instead of setting errno. */
	int e = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	errno = e;
	report("fadvise(DONTNEED)", e ? -1 : 0);
	e = posix_fadvise(fd, 0, 0, POSIX_FADV_NOREUSE);
	errno = e;
	report("fadvise(NOREUSE)", e ? -1 : 0);
	return 0;
}

static int do_pageout(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return report("fstat", -1), 1;
	size_t len = (size_t)st.st_size;
	volatile char *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return report("mmap", -1), 1;
	unsigned sum = 0;
	for (size_t i = 0; i < len; i += 4096)
		sum += (unsigned)p[i];
	say("touched %zu pages (%u)\n", len / 4096, sum & 1);
	report("madvise(COLD)", madvise((void *)p, len, MADV_COLD));
	report("madvise(PAGEOUT)", madvise((void *)p, len, MADV_PAGEOUT));
	munmap((void *)p, len);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return say("usage: fadvise fadvise|pageout PATH\n"), 2;
	int fd = open(argv[2], O_RDONLY);
	if (fd < 0)
		return report("open", -1), 1;
	int rc = !strcmp(argv[1], "pageout") ? do_pageout(fd) : do_fadvise(fd);
	say("done\n");
	return rc;
}
