/* Booby-trap a kept workspace for the hand-back that gives its files to
 * the caller: symlinks to host files and folders (a chown or chmod that
 * follows them would change the host's), and files and a folder with
 * mode 0 that the caller must still be able to remove. */
#include <fcntl.h>
#include <sys/stat.h>
#include "progs.h"

int main(void)
{
	report("symlink(passwd)", symlink("/etc/passwd", "passwd"));
	report("symlink(etc)", symlink("/etc", "etc"));
	report("symlink(dotdot)", symlink("..", "up"));
	report("mkdir(locked)", mkdir("locked", 0755));
	int fd = open("locked/inner", O_WRONLY | O_CREAT, 0600);
	if (report("create(locked/inner)", fd) >= 0)
		close(fd);
	report("chmod(locked)", chmod("locked", 0));
	fd = open("private", O_WRONLY | O_CREAT, 0);
	if (report("create(private)", fd) >= 0)
		close(fd);
	return 0;
}
