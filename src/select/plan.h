/*
 * plan.h — building, freeing and (de)serialising the tg_plan (declared in the
 * public header). The JSON form is a stable contract documented in docs/plan.md;
 * parsing validates every field (types, ranges, order) because a plan may come
 * from a user's editor.
 */
#ifndef TG_SELECT_PLAN_H
#define TG_SELECT_PLAN_H

#include "thumbgen.h"

tg_plan *tgi_plan_new(void);
/* Append helpers: copy the value into the plan's arrays. */
int tgi_plan_add_shot(tg_plan *p, tg_shot v);
int tgi_plan_add_segment(tg_plan *p, tg_segment v);
int tgi_plan_add_keyframe(tg_plan *p, tg_keyframe v);
int tgi_plan_add_warning(tg_plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
