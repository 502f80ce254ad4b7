/*
 * proc.c — the child process runner (see proc.h for the life of a child).
 */
#include "core/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"

extern char **environ;

#define TERM_GRACE_MS 500
#define EXIT_GRACE_MS 2000 /* child gone but a grandchild still holds the pipes */

struct tgi_proc {
    pid_t pid;
    int fd[2]; /* stdout, stderr read ends; -1 once closed */
    int exited;
    int64_t exit_at;
};

static int make_pipe(int p[2])
{
    if (pipe(p) != 0)
        return -1;
    fcntl(p[0], F_SETFD, FD_CLOEXEC);
    fcntl(p[1], F_SETFD, FD_CLOEXEC);
    int fl = fcntl(p[0], F_GETFL);
    if (fl >= 0)
        fcntl(p[0], F_SETFL, fl | O_NONBLOCK);
    return 0;
}

int tgi_proc_spawn(const char *const argv[], char *const env[], tgi_proc **out)
{
    *out = NULL;
    int outp[2] = {-1, -1}, errp[2] = {-1, -1}, rc;
    tgi_proc *p = calloc(1, sizeof(*p));
    if (!p)
        return ENOMEM;
    if (make_pipe(outp) != 0 || make_pipe(errp) != 0) {
        rc = errno;
        goto fail;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
    posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
    /* its own process group (so it and its children stop together), default signal
     * dispositions and an empty mask whatever the server set for itself */
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGHUP);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                        POSIX_SPAWN_SETSIGDEF);
    rc = posix_spawnp(&p->pid, argv[0], &fa, &attr, (char *const *)argv,
                      env ? (char **)env : environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0)
        goto fail;
    close(outp[1]);
    close(errp[1]);
    p->fd[0] = outp[0];
    p->fd[1] = errp[0];
    *out = p;
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        if (outp[i] >= 0)
            close(outp[i]);
        if (errp[i] >= 0)
            close(errp[i]);
    }
    free(p);
    return rc;
}

/* 1 once the child has exited (it stays a zombie: its pid and group stay ours). */
static int has_exited(pid_t pid)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
        return errno == ECHILD; /* somebody else reaped it */
    return si.si_pid == pid;
}

/* Read what fd has (a bounded number of rounds, so one chatty stream cannot starve
 * the checks); at EOF or an error, tell fn and close it. */
static void drain(tgi_proc *p, int k, tgi_proc_out_fn fn, void *user)
{
    char buf[4096];
    for (int rounds = 0; rounds < 64; rounds++) {
        ssize_t got = read(p->fd[k], buf, sizeof(buf));
        if (got > 0) {
            fn(user, k + 1, buf, (size_t)got);
            continue;
        }
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        fn(user, k + 1, buf, 0); /* EOF or error */
        close(p->fd[k]);
        p->fd[k] = -1;
        return;
    }
}

int tgi_proc_poll(tgi_proc *p, int tick_ms, tgi_proc_out_fn fn, void *user)
{
    struct pollfd fds[2];
    int nf = 0, which[2];
    for (int k = 0; k < 2; k++)
        if (p->fd[k] >= 0) {
            fds[nf] = (struct pollfd){.fd = p->fd[k], .events = POLLIN};
            which[nf++] = k;
        }
    int pr = poll(nf ? fds : NULL, (nfds_t)nf, tick_ms);
    if (pr < 0 && errno != EINTR)
        return -1;
    for (int i = 0; pr > 0 && i < nf; i++)
        if (fds[i].revents)
            drain(p, which[i], fn, user);
    int64_t now = tgi_mono_ms();
    if (!p->exited && has_exited(p->pid)) {
        p->exited = 1;
        p->exit_at = now;
    }
    if (p->exited && p->fd[0] < 0 && p->fd[1] < 0)
        return 1;
    if (p->exited && now - p->exit_at >= EXIT_GRACE_MS)
        return 1; /* a leftover child holds the pipes: tgi_proc_end sweeps it up */
    return 0;
}

int tgi_proc_end(tgi_proc **pp)
{
    tgi_proc *p = pp ? *pp : NULL;
    if (!p)
        return -1;
    if (!p->exited) {
        kill(-p->pid, SIGTERM);
        for (int waited = 0; waited < TERM_GRACE_MS && !has_exited(p->pid); waited += 10)
            tgi_sleep_ms(10);
    }
    kill(-p->pid, SIGKILL);
    int st = 0;
    while (waitpid(p->pid, &st, 0) < 0) {
        if (errno != EINTR) {
            st = -1;
            break;
        }
    }
    int e = errno;
    for (int k = 0; k < 2; k++)
        if (p->fd[k] >= 0)
            close(p->fd[k]);
    free(p);
    *pp = NULL;
    if (st == -1)
        errno = e;
    return st;
}
