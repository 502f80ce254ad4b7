/*
 * fault.h — a test hook that makes the disk "full" (after curl's torture tests and
 * SQLite's fault injection), so the tests can show that a full disk at any stage of
 * a job ends the job with its reason and frees the worker.
 *
 * Off unless the environment sets TG_FAULT_DISK_FULL=STAGE: from the moment a job
 * reports progress of STAGE ("download", "analyze", "select", "render", or "store"
 * just before a finished job is recorded) every write through core/file.c fails
 * with ENOSPC and every write to the job store fails as SQLITE_FULL would, until
 * the file named by TG_FAULT_DISK_FREED exists ("space was freed"). Fires once.
 */
#ifndef TG_CORE_FAULT_H
#define TG_CORE_FAULT_H

/* A job reached this stage (arms the fault when it is the configured one). */
void tgi_fault_stage(const char *stage);
/* 1 while the simulated disk is full. */
int tgi_fault_disk_full(void);

#endif
