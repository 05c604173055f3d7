// SPDX-License-Identifier: GPL-2.0
/*
 * agentguard unload [--pin-dir DIR]: end the enforcement pinned under DIR. Removes the link
 * pins (each program detaches once nothing else holds its link) and then the map pins. Refused
 * while a daemon runs with DIR: stop it first, or it would go on reporting for nothing.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "loader.h"
#include "log.h"

int cmd_unload(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pin-dir", required_argument, NULL, 'P' },
		{},
	};
	const char *pin_dir = AG_PIN_DIR;
	int opt, lock = -1, err;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt != 'P')
			return AG_EXIT_USAGE;
		pin_dir = optarg;
	}
	if (optind != argc) {
		fprintf(stderr, "usage: agentguard unload [--pin-dir DIR]\n");
		return AG_EXIT_USAGE;
	}
	if (access(pin_dir, F_OK)) {
		ag_log_info("nothing is pinned at \"%s\"", pin_dir);
		return AG_EXIT_OK;
	}
	err = ag_loader_lock_pin_dir(pin_dir, &lock);
	if (err == -EWOULDBLOCK) {
		ag_log_error("unload: an agentguard daemon is running with \"%s\"; stop it first",
			     pin_dir);
		return AG_EXIT_CONFIG;
	}
	if (!err)
		err = ag_loader_unpin_dir(pin_dir, true);
	if (lock >= 0)
		close(lock);
	if (err == -EBUSY) {
		ag_log_error("unload: the pins under \"%s\" are removed, but programs are still "
			     "loaded after 30 s: another process holds them open, so that they "
			     "detached cannot be confirmed", pin_dir);
		return AG_EXIT_SOFTWARE;
	}
	if (err) {
		ag_log_error("unload: removing the pins under \"%s\": %s", pin_dir, strerror(-err));
		return AG_EXIT_SOFTWARE;
	}
	ag_log_info("unloaded: nothing is enforced from \"%s\" any more", pin_dir);
	return AG_EXIT_OK;
}
