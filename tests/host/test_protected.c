// SPDX-License-Identifier: GPL-2.0
/*
 * The protected-inode table's owners (loader.h, ag_protected_add/release), against a real
 * BPF hash map of ag_protected's layout: an inode stays protected until every owner released
 * it. The case it exists for: an event file's key outlives the file (logrotate deleted it),
 * the inode number is reused by a policy file the daemon protects, and the event file's key
 * is then released: the policy file must stay protected. Needs root (bpf()); no programs.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>

#include "agentguard_abi.h"
#include "loader.h"

static int map_fd = -1;

static int setup(void **state)
{
	map_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "ag_prot_test", sizeof(struct ag_inode_key),
				sizeof(__u32), 64, NULL);
	return map_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	close(map_fd);
	return 0;
}

/* The entry's owners, or 0 if there is none. */
static __u32 owners(const struct ag_inode_key *key)
{
	__u32 v = 0;

	if (bpf_map_lookup_elem(map_fd, key, &v))
		assert_int_equal(errno, ENOENT);
	return v;
}

static void test_stale_release_keeps_other_owner(void **state)
{
	struct ag_inode_key k = { .dev = 8, .ino = 4242 };

	/* The event file's key, still remembered after logrotate deleted the file. */
	assert_int_equal(ag_protected_add(map_fd, &k, AG_PROTECT_EVENTS), 0);
	/* A policy file got the inode number: the daemon protects it. */
	assert_int_equal(ag_protected_add(map_fd, &k, AG_PROTECT_POLICY), 0);
	/* Rotations release the old event file's key: the policy file stays protected. */
	assert_int_equal(ag_protected_release(map_fd, &k, AG_PROTECT_EVENTS), 0);
	assert_int_equal(owners(&k), AG_PROTECT_POLICY);
	/* Releasing it twice changes nothing. */
	assert_int_equal(ag_protected_release(map_fd, &k, AG_PROTECT_EVENTS), 0);
	assert_int_equal(owners(&k), AG_PROTECT_POLICY);
	/* Its last owner lets go: the entry is gone. */
	assert_int_equal(ag_protected_release(map_fd, &k, AG_PROTECT_POLICY), 0);
	assert_int_equal(owners(&k), 0);
}

/* Control: one owner, protect and release, as before owners existed. */
static void test_single_owner(void **state)
{
	struct ag_inode_key k = { .dev = 8, .ino = 7 };

	assert_int_equal(ag_protected_add(map_fd, &k, AG_PROTECT_METRICS), 0);
	assert_int_equal(ag_protected_add(map_fd, &k, AG_PROTECT_METRICS), 0);
	assert_int_equal(owners(&k), AG_PROTECT_METRICS);
	/* Another owner's release does not touch it. */
	assert_int_equal(ag_protected_release(map_fd, &k, AG_PROTECT_SELF), 0);
	assert_int_equal(owners(&k), AG_PROTECT_METRICS);
	assert_int_equal(ag_protected_release(map_fd, &k, AG_PROTECT_METRICS), 0);
	assert_int_equal(owners(&k), 0);
	assert_int_equal(ag_protected_release(map_fd, &k, AG_PROTECT_METRICS), 0);
}

/* An older build's entry (value 1, owner unknown): any release removes it, as it did. */
static void test_older_build_entry(void **state)
{
	struct ag_inode_key k = { .dev = 8, .ino = 9 };
	__u32 one = 1;

	assert_int_equal(bpf_map_update_elem(map_fd, &k, &one, 0), 0);
	assert_int_equal(ag_protected_release(map_fd, &k, AG_PROTECT_EVENTS), 0);
	assert_int_equal(owners(&k), 0);
	/* Protected again by this build: the owner is known from then on. */
	assert_int_equal(bpf_map_update_elem(map_fd, &k, &one, 0), 0);
	assert_int_equal(ag_protected_add(map_fd, &k, AG_PROTECT_SELF), 0);
	assert_int_equal(owners(&k), AG_PROTECT_SELF);
	assert_int_equal(ag_protected_release(map_fd, &k, AG_PROTECT_EVENTS), 0);
	assert_int_equal(owners(&k), AG_PROTECT_SELF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stale_release_keeps_other_owner),
		cmocka_unit_test(test_single_owner),
		cmocka_unit_test(test_older_build_entry),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
