/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A guest stand-in's frame pipe: a thread copies frames between a tap's descriptor (the one
 * QEMU would hold) and a second tap in the guest's network namespace, as QEMU copies frames
 * between the tap and virtio-net. For tests/host/test_sandbox_net.c and bench/sbxnet_bench.c.
 */
#ifndef AG_TESTS_FRAME_PIPE_H
#define AG_TESTS_FRAME_PIPE_H

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <unistd.h>

struct frame_pipe {
	int a, b;		/* the two taps' descriptors; not the pipe's to close */
	int stop[2];
	pthread_t thread;
	bool running;
};

static void *frame_pipe_run(void *p)
{
	struct frame_pipe *fp = p;
	struct pollfd fds[3] = { { .fd = fp->a, .events = POLLIN },
				 { .fd = fp->b, .events = POLLIN },
				 { .fd = fp->stop[0], .events = POLLIN } };
	char buf[65536];
	ssize_t k;

	for (;;) {
		if (poll(fds, 3, -1) < 0)
			continue;
		if (fds[2].revents)
			break;
		if (fds[0].revents & POLLIN) {
			k = read(fp->a, buf, sizeof(buf));
			if (k > 0 && write(fp->b, buf, k) < 0)
				continue;
		}
		if (fds[1].revents & POLLIN) {
			k = read(fp->b, buf, sizeof(buf));
			if (k > 0 && write(fp->a, buf, k) < 0)
				continue;
		}
	}
	return NULL;
}

/* 0 or -1. */
static int frame_pipe_start(struct frame_pipe *fp, int a, int b)
{
	fp->a = a;
	fp->b = b;
	if (pipe2(fp->stop, O_CLOEXEC))
		return -1;
	if (pthread_create(&fp->thread, NULL, frame_pipe_run, fp)) {
		close(fp->stop[0]);
		close(fp->stop[1]);
		return -1;
	}
	fp->running = true;
	return 0;
}

static void frame_pipe_stop(struct frame_pipe *fp)
{
	if (!fp->running)
		return;
	if (write(fp->stop[1], "x", 1) != 1)
		pthread_cancel(fp->thread);
	pthread_join(fp->thread, NULL);
	close(fp->stop[0]);
	close(fp->stop[1]);
	fp->running = false;
}

#endif
