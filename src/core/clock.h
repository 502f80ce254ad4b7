/*
 * clock.h — the monotonic clock in milliseconds (timeouts, deadlines, ticks) and a
 * sleep that survives signals. Used by core/proc.c, fetch/guard.c and fetch/ytdlp.c.
 */
#ifndef TG_CORE_CLOCK_H
#define TG_CORE_CLOCK_H

#include <stdint.h>

/* Milliseconds of CLOCK_MONOTONIC: only differences mean something. */
int64_t tgi_mono_ms(void);
/* Sleep ms milliseconds, resuming after a signal. */
void tgi_sleep_ms(int ms);

#endif
