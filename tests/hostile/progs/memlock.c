/* Lock memory past the filter's refusal of mlock: mmap(MAP_LOCKED) and
 * shmctl(SHM_LOCK) are governed by RLIMIT_MEMLOCK alone. The exit code
 * says what got locked: 1 the mapping (VmLck above 0), 2 the segment. */
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include "progs.h"

#define SIZE (1 << 20)

static long vmlck_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "VmLck:", 6))
			kib = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return kib;
}

int main(void)
{
	int rc = 0;
	void *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
	report("mmap(MAP_LOCKED)", p == MAP_FAILED ? -1 : 0);
	long kib = vmlck_kib();
	say("VmLck: %ld kB\n", kib);
	if (kib != 0)
		rc |= 1;
	int id = shmget(IPC_PRIVATE, SIZE, IPC_CREAT | 0600);
	if (report("shmget", id) >= 0) {
		if (report("shmctl(SHM_LOCK)", shmctl(id, SHM_LOCK, NULL)) == 0)
			rc |= 2;
		shmctl(id, IPC_RMID, NULL);
	}
	say("exit %d\n", rc);
	return rc;
}
