/* Shared memory between sandboxes: "create KEY SECS" makes a SysV segment
 * with KEY and a POSIX one, writes a secret in each and waits SECS;
 * "probe KEY" looks for both and for any segment at all. */
#include <fcntl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include "progs.h"

#define POSIX_NAME "/rj-hostile-peer"

static void list_sysv(void)
{
	int fd = open("/proc/sysvipc/shm", O_RDONLY);
	if (fd < 0) {
		say("sysvipc: %s\n", ename(errno));
		return;
	}
	char buf[8192];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	int lines = 0;
	for (ssize_t i = 0; i < n; i++)
		lines += buf[i] == '\n';
	say("sysvipc segments: %d\n", lines > 0 ? lines - 1 : 0);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	key_t key = (key_t)strtol(argv[2], NULL, 0);
	if (!strcmp(argv[1], "create")) {
		int id = (int)report("shmget(create)", shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0666));
		if (id >= 0) {
			char *p = shmat(id, NULL, 0);
			if (p != (void *)-1)
				strcpy(p, "sysv-secret");
		}
		int fd = (int)report("shm_open(create)", shm_open(POSIX_NAME, O_CREAT | O_RDWR, 0666));
		if (fd >= 0)
			report("write", write(fd, "posix-secret", 12));
		list_sysv();
		say("created\n");
		sleep((unsigned)atoi(argc > 3 ? argv[3] : "2"));
		say("done\n");
		return 0;
	}
	int id = (int)report("shmget(probe)", shmget(key, 0, 0));
	if (id >= 0) {
		char *p = shmat(id, NULL, SHM_RDONLY);
		if (p != (void *)-1)
			say("read: %.32s\n", p);
	}
	int fd = (int)report("shm_open(probe)", shm_open(POSIX_NAME, O_RDONLY, 0));
	if (fd >= 0) {
		char buf[32] = "";
		read(fd, buf, sizeof buf - 1);
		say("read: %s\n", buf);
	}
	list_sysv();
	return 0;
}
