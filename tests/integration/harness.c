/* Process control for integration tests: fork/exec cirrusd on loopback, find its port. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void harness_init(struct harness *h)
{
    memset(h, 0, sizeof *h);
    snprintf(h->dir, sizeof h->dir, "/tmp/cirrus-it-XXXXXX");
    if (!mkdtemp(h->dir)) {
        perror("mkdtemp");
        abort();
    }
    snprintf(h->port_file, sizeof h->port_file, "%s.port", h->dir);
}

void harness_flag(struct harness *h, const char *flag)
{
    if (h->n_extra < 8)
        snprintf(h->extra[h->n_extra++], sizeof h->extra[0], "%s", flag);
}

static int read_port(const char *path)
{
    char buf[32] = {0};
    FILE *f = fopen(path, "r");
    size_t n;

    if (!f)
        return 0;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    if (n == 0 || !strchr(buf, '\n'))
        return 0;
    return atoi(buf);
}

int harness_start(struct harness *h)
{
    const char *bin = getenv("CIRRUSD") ? getenv("CIRRUSD") : CIRRUSD_PATH;
    char *argv[32];
    int argc = 0;

    unlink(h->port_file);
    argv[argc++] = (char *)bin;
    argv[argc++] = "--data";
    argv[argc++] = h->dir;
    argv[argc++] = "--listen";
    argv[argc++] = "127.0.0.1:0";
    argv[argc++] = "--port-file";
    argv[argc++] = h->port_file;
    argv[argc++] = "--log-level";
    argv[argc++] = "warn";
    for (int i = 0; i < h->n_extra; i++)
        argv[argc++] = h->extra[i];
    argv[argc] = NULL;

    h->pid = fork();
    if (h->pid < 0)
        return -1;
    if (h->pid == 0) {
        /* A test that fails half-way must not leave a server behind: it would hold the test's
         * output pipe open and keep ctest waiting. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execv(bin, argv);
        perror("execv cirrusd");
        _exit(127);
    }
    for (int i = 0; i < 1000; i++) {
        int status;
        h->port = read_port(h->port_file);
        if (h->port > 0)
            return 0;
        if (waitpid(h->pid, &status, WNOHANG) == h->pid) {
            h->pid = 0;
            return -1;
        }
        sleep_ms(10);
    }
    harness_kill9(h);
    return -1;
}

int harness_stop(struct harness *h)
{
    int status;

    if (!h->pid)
        return 0;
    kill(h->pid, SIGTERM);
    while (waitpid(h->pid, &status, 0) < 0 && errno == EINTR)
        ;
    h->pid = 0;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return -1;
}

void harness_kill9(struct harness *h)
{
    int status;

    if (!h->pid)
        return;
    kill(h->pid, SIGKILL);
    while (waitpid(h->pid, &status, 0) < 0 && errno == EINTR)
        ;
    h->pid = 0;
}

bool harness_alive(struct harness *h)
{
    int status;

    if (!h->pid)
        return false;
    if (waitpid(h->pid, &status, WNOHANG) == h->pid) {
        h->pid = 0;
        return false;
    }
    return true;
}

void harness_cleanup(struct harness *h)
{
    char cmd[600];

    harness_stop(h);
    unlink(h->port_file);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", h->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", h->dir);
}

int harness_connect(struct harness *h)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)h->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}
