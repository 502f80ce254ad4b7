/*
 * fault.c — the disk-full test hook (see fault.h). The environment is read once;
 * the state is two atomics, so any thread may ask.
 */
#include "core/fault.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *full_stage, *freed_file;
static atomic_int armed, done;

static void read_env(void)
{
    full_stage = getenv("TG_FAULT_DISK_FULL");
    freed_file = getenv("TG_FAULT_DISK_FREED");
    if (full_stage && !*full_stage)
        full_stage = NULL;
}

void tgi_fault_stage(const char *stage)
{
    pthread_once(&once, read_env);
    if (full_stage && stage && !strcmp(stage, full_stage) && !atomic_load(&done))
        atomic_store(&armed, 1);
}

int tgi_fault_disk_full(void)
{
    pthread_once(&once, read_env);
    if (!atomic_load(&armed))
        return 0;
    if (!freed_file || access(freed_file, F_OK) == 0) {
        atomic_store(&armed, 0);
        atomic_store(&done, 1); /* once: space stays free */
        return 0;
    }
    return 1;
}
