/* Linked into every fuzz target: silences logging, under libFuzzer and under replay alike. */
#include "fuzz_quiet.h"

#include "common/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

void fuzz_quiet(void)
{
    cr_log_set_level(CR_LOG_OFF);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_quiet();
    return 0;
}
