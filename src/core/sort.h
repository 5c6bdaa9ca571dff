/* sort.h: an inline sort for hot paths that sort small arrays of hashed
 * features (the guard's classifier, the intent classifier). glibc's qsort
 * is a merge sort through a compare callback: half the intent classifier's
 * time and a sixth of the guard's (bench_cache under perf,
 * bench/RESULTS.md). FD_SORT_DEFINE(name, T, KEY) defines
 *     static void name(T *v, size_t n)
 * sorting v ascending by KEY(x), an unsigned integer of element x: a
 * quicksort (Wirth's partition around the middle element, insertion sort
 * below 16), bounded like an introsort (qsort's n log n past two
 * partitions per bit of n) against inputs crafted to make every pivot a
 * bad one. Not stable: callers merge equal keys right after. */
#ifndef FD_SORT_H
#define FD_SORT_H

#include <stddef.h>
#include <stdlib.h>

#define FD_SORT_DEFINE(name, T, KEY)                                                               \
    static int name##_cmp(const void *pa, const void *pb)                                          \
    {                                                                                              \
        const T *a = pa, *b = pb;                                                                  \
        return KEY(*a) < KEY(*b) ? -1 : KEY(*a) > KEY(*b);                                         \
    }                                                                                              \
                                                                                                   \
    static void name##_depth(T *v, size_t n, int depth)                                            \
    {                                                                                              \
        while (n > 16) {                                                                           \
            if (--depth < 0) {                                                                     \
                qsort(v, n, sizeof *v, name##_cmp);                                                \
                return;                                                                            \
            }                                                                                      \
            /* both scans stop at the pivot, so each side ends smaller                             \
             * than n: [0, j] <= pivot <= [i, n), equal keys between */                            \
            T pivot = v[n / 2];                                                                    \
            size_t i = 0, j = n - 1;                                                               \
            while (i <= j) {                                                                       \
                while (KEY(v[i]) < KEY(pivot))                                                     \
                    i++;                                                                           \
                while (KEY(v[j]) > KEY(pivot))                                                     \
                    j--;                                                                           \
                if (i <= j) {                                                                      \
                    T t = v[i];                                                                    \
                    v[i++] = v[j];                                                                 \
                    v[j--] = t; /* never from 0: i <= j and i >= 1 after a swap */                 \
                }                                                                                  \
            }                                                                                      \
            size_t left = j + 1;                                                                   \
            if (left < n - i) { /* the smaller side recursed: a bounded stack */                   \
                name##_depth(v, left, depth);                                                      \
                v += i;                                                                            \
                n -= i;                                                                            \
            } else {                                                                               \
                name##_depth(v + i, n - i, depth);                                                 \
                n = left;                                                                          \
            }                                                                                      \
        }                                                                                          \
        for (size_t i = 1; i < n; i++) {                                                           \
            T t = v[i];                                                                            \
            size_t j = i;                                                                          \
            for (; j > 0 && KEY(v[j - 1]) > KEY(t); j--)                                           \
                v[j] = v[j - 1];                                                                   \
            v[j] = t;                                                                              \
        }                                                                                          \
    }                                                                                              \
                                                                                                   \
    static void name(T *v, size_t n)                                                               \
    {                                                                                              \
        int depth = 0;                                                                             \
        for (size_t m = n; m > 1; m >>= 1)                                                         \
            depth += 2;                                                                            \
        name##_depth(v, n, depth);                                                                 \
    }

#endif
