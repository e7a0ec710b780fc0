/* mkdtemp and an nftw-based rm -r, for the server unit tests. nftw is an XSI function. */
#define _XOPEN_SOURCE 700
#include "tmpdir.h"

#include <ftw.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[64];

const char *test_tmpdir(void)
{
    snprintf(dir, sizeof dir, "/tmp/cirrus-unit-XXXXXX");
    return mkdtemp(dir);
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    return remove(path);
}

void test_rmtree(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
