/*
 * proc.h — run a program as a child process: never a shell, an argument vector;
 * stdin /dev/null, stdout and stderr to pipes; its own process group, so stopping it
 * stops whatever it started (yt-dlp's ffmpeg); always reaped.
 *
 *   tgi_proc_spawn ─► tgi_proc_poll (every ≤ tick: output to the callback) ─┐
 *        ▲                                            │ 0: still running  │
 *        └────────────────────────────────────────────┘                  │
 *                             1: exited and both pipes closed (or held   │
 *                                by a grandchild for 2 s after the exit) ▼
 *   tgi_proc_end: SIGTERM to the group, SIGKILL after 500 ms (at once when the child
 *                has exited: that sweeps up grandchildren), reap → wait status
 *
 * The caller decides when to give up (timeout, cancel, too much output): it calls
 * tgi_proc_end whenever it likes. Used by fetch/ytdlp.c (yt-dlp and the version
 * probes of its runtimes).
 */
#ifndef TG_CORE_PROC_H
#define TG_CORE_PROC_H

#include <stddef.h>

typedef struct tgi_proc tgi_proc;

/* Start argv[0] (looked up in PATH unless it has a slash) with argv (NULL-ended) and
 * the environment env (NULL: ours), with an empty signal mask and SIGPIPE, SIGTERM,
 * SIGINT and SIGHUP at their defaults whatever the caller set. Returns 0, or an errno
 * value (ENOENT: no such program) with *out NULL. */
int tgi_proc_spawn(const char *const argv[], char *const env[], tgi_proc **out);

/* Output as it arrives: stream 1 = stdout, 2 = stderr. At end of a stream, one call
 * with len 0. */
typedef void (*tgi_proc_out_fn)(void *user, int stream, const char *data, size_t len);

/* Wait up to tick_ms for output and hand what came to fn. Returns 1 when the child is
 * done (exited, and its pipes closed or held past the grace period), 0 while it runs,
 * -1 when poll failed (errno). */
int tgi_proc_poll(tgi_proc *p, int tick_ms, tgi_proc_out_fn fn, void *user);

/* Stop the child's process group (see above), reap it, free *p and set it NULL.
 * Returns the wait status (sys/wait.h's WIFEXITED etc.), or -1 when it could not be
 * reaped (errno). Accepts NULL (returns -1). */
int tgi_proc_end(tgi_proc **p);

#endif
