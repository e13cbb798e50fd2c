/*
 * ringjail: the command-line tool. Dispatches to `run` and `batch`; the
 * contract it follows is CLI.md.
 */
#include <string.h>

#include "cli.h"

#ifndef RJ_CLI_VERSION
#define RJ_CLI_VERSION "unknown"
#endif

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd) {
		cli_help_main(stderr);
		return CLI_EXIT_USAGE;
	}
	if (!strcmp(cmd, "run"))
		return cli_run_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "batch"))
		return cli_batch_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		cli_help_main(stdout);
		return CLI_EXIT_OK;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		printf("ringjail %s (libringjail %d.%d)\n", RJ_CLI_VERSION,
		       RJ_VERSION_MAJOR, RJ_VERSION_MINOR);
		return CLI_EXIT_OK;
	}
	cli_error("unknown command '%s': expected run or batch (see 'ringjail "
		  "--help')", cmd);
	return CLI_EXIT_USAGE;
}
