/* Scratch directories for server unit tests that need a real storage environment. */
#ifndef CR_TEST_TMPDIR_H
#define CR_TEST_TMPDIR_H

/* Creates a fresh directory under /tmp; the returned path is static, valid until the next call. */
const char *test_tmpdir(void);
/* Removes the directory tree. */
void test_rmtree(const char *path);

#endif
