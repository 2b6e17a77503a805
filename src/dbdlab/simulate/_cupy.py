"""CUDA kernel of the lattice simulator (GPU, one thread per replica) and its chunked driver.

The kernel is a line-by-line transcription of :mod:`dbdlab.simulate._numba` (``advance`` →
``_step`` → ``_schedule`` / ``_execute`` / ``_pick_code`` and the hierarchical bag), which in turn
follows the algorithm and the order of random draws defined in :mod:`dbdlab.simulate._reference`.
Every float64 of the Numba code is a ``double`` here and the integer logic is the same, so a run is
draw-for-draw identical to Numba.  Floating-point products are written with ``__dmul_rn`` /
``__dadd_rn`` / ``__dsub_rn`` and the source is compiled with ``--fmad=false``: a fused multiply-add
(e.g. in the leftover fraction ``u·n − ⌊u·n⌋`` of a split) would change the last bits of the
uniforms that are re-used for the next level of a pick.  The only possible difference from Numba is
CUDA's ``log`` (≤ 1 ulp from glibc's) in the Gillespie waiting times; networks without
unimolecular reactions never call it.

Per-replica work arrays (row/plane counts, the bag of the hop sweep) are slices of device arrays of
shape ``(replicas, size)`` allocated once per :class:`CupyRunner`; the ensemble state (``occ``,
``n_total``, ``state``) stays on the device between chunks.
"""

from __future__ import annotations

import functools

import cupy as cp
import numpy as np

from ..rng import CUDA_SOURCE
from ._runner import EnsembleRunner
from .lattice import Lattice
from .reactions import NetworkTables

__all__ = ["CupyRunner", "KERNEL_SOURCE", "KERNEL_NAME", "KERNEL_OPTIONS", "BLOCK_SIZE"]

KERNEL_NAME = "dbd_advance"
#: no contraction of a·b + c into an FMA: results must round exactly like Numba's
KERNEL_OPTIONS = ("--fmad=false",)
BLOCK_SIZE = 64

KERNEL_SOURCE = CUDA_SOURCE + r"""
typedef signed char i8;
typedef long long i64;

#define DBD_MAX_FISSION_TRIES 20

/* Read-only network tables and lattice geometry shared by all replicas. */
struct DbdTables {
    const int* nbr;          /* (n_sites, nbr_width) */
    const int* nnbr;         /* (n_sites,) */
    int nbr_width;
    int n_uni;
    const i8* uni_kind;
    const i8* uni_reactant;
    const i8* uni_product1;
    const i8* uni_product2;
    const double* uni_rate;
    const unsigned char* uni_auto;
    const int* pair_start;
    const int* pair_len;
    const int* pair_rxn;
    const double* enc_prob;
    const i8* enc_nprod;
    const i8* enc_p1;
    const i8* enc_p2;
};

/* Per-replica work arrays (global-memory slices). */
struct DbdWork {
    int* cnt_row;            /* (n_codes * n_rows) */
    int* cnt_plane;          /* (n_codes * n_planes) */
    int* elem;               /* (n_sites) */
    int* rowlen;             /* (n_bag_rows) */
    int* pos;                /* (n_sites) */
    int* prow;               /* (n_bag_rows) */
    int* nrows;              /* (n_bag_planes) */
    int* rowpos;             /* (n_bag_rows) */
    int* planes;             /* (n_bag_planes) */
    int* nplanes;            /* (1) */
    int* planepos;           /* (n_bag_planes) */
};

/* Index floor(u*n) (clamped to n-1) and the leftover fraction in *rest (may alias u). */
__device__ __forceinline__ i64 dbd_split(double u, i64 n, double* rest) {
    double x = __dmul_rn(u, (double)n);
    i64 i = (i64)x;
    if (i >= n) {
        i = n - 1;
    }
    *rest = __dsub_rn(x, (double)i);
    return i;
}

/* --- hierarchical bag of sites: uniform pick over planes, then rows, then sites --------- */

__device__ __forceinline__ void dbd_bag_add(int site, const DbdWork& w, int rows_per_plane,
                                            int row_size) {
    int g = site / row_size;
    if (w.rowlen[g] == 0) {
        int p = g / rows_per_plane;
        if (w.nrows[p] == 0) {
            w.planes[w.nplanes[0]] = p;
            w.planepos[p] = w.nplanes[0];
            w.nplanes[0] += 1;
        }
        w.prow[p * rows_per_plane + w.nrows[p]] = g;
        w.rowpos[g] = w.nrows[p];
        w.nrows[p] += 1;
    }
    w.elem[g * row_size + w.rowlen[g]] = site;
    w.pos[site] = w.rowlen[g];
    w.rowlen[g] += 1;
}

/* Remove the (now empty) row g from its plane, and the plane if it empties. */
__device__ __forceinline__ void dbd_bag_drop_row(int g, const DbdWork& w, int rows_per_plane) {
    int p = g / rows_per_plane;
    int j = w.rowpos[g];
    int lastrow = w.prow[p * rows_per_plane + w.nrows[p] - 1];
    w.prow[p * rows_per_plane + j] = lastrow;
    w.rowpos[lastrow] = j;
    w.nrows[p] -= 1;
    if (w.nrows[p] == 0) {
        int k = w.planepos[p];
        int lastplane = w.planes[w.nplanes[0] - 1];
        w.planes[k] = lastplane;
        w.planepos[lastplane] = k;
        w.nplanes[0] -= 1;
    }
}

__device__ __forceinline__ void dbd_bag_remove(int site, const DbdWork& w, int rows_per_plane,
                                               int row_size) {
    int g = site / row_size;
    int i = w.pos[site];
    int last = w.elem[g * row_size + w.rowlen[g] - 1];
    w.elem[g * row_size + i] = last;
    w.pos[last] = i;
    w.rowlen[g] -= 1;
    w.pos[site] = -1;
    if (w.rowlen[g] == 0) {
        dbd_bag_drop_row(g, w, rows_per_plane);
    }
}

/* --- picks of a site holding a given code, from per-row / per-plane counts -------------- */

__device__ void dbd_count_rows(const i8* occ, const DbdWork& w, int n_sites, int n_codes,
                               int rows_per_plane, int row_size) {
    int n_rows = n_sites / row_size;
    int n_planes = n_rows / rows_per_plane;
    for (int j = 0; j < n_codes * n_rows; ++j) {
        w.cnt_row[j] = 0;
    }
    for (int j = 0; j < n_codes * n_planes; ++j) {
        w.cnt_plane[j] = 0;
    }
    for (int g = 0; g < n_rows; ++g) {
        int base = g * row_size;
        for (int c = 0; c < row_size; ++c) {
            w.cnt_row[(int)occ[base + c] * n_rows + g] += 1;
        }
    }
    for (int code = 0; code < n_codes; ++code) {
        for (int p = 0; p < n_planes; ++p) {
            int total = 0;
            for (int r = 0; r < rows_per_plane; ++r) {
                total += w.cnt_row[code * n_rows + p * rows_per_plane + r];
            }
            w.cnt_plane[code * n_planes + p] = total;
        }
    }
}

/* Site of a random molecule of `code` (0 = a random empty site), or -1 if there is none. */
__device__ int dbd_pick_code(double u, int code, const i8* occ, const DbdWork& w,
                             i64 n_total_code, int biased, int n_sites, int rows_per_plane,
                             int row_size) {
    int n_rows = n_sites / row_size;
    int n_planes = n_rows / rows_per_plane;
    if (n_total_code <= 0) {
        return -1;
    }
    int crow = code * n_rows;
    int cpl = code * n_planes;
    i64 k;
    int p = 0;  /* keeps the last loop value if a loop ends without break, as in Numba */
    int g;
    if (biased) {
        i64 nz = 0;
        for (int q = 0; q < n_planes; ++q) {
            if (w.cnt_plane[cpl + q] > 0) {
                nz += 1;
            }
        }
        k = dbd_split(u, nz, &u);
        for (int q = 0; q < n_planes; ++q) {
            p = q;
            if (w.cnt_plane[cpl + q] > 0) {
                if (k == 0) {
                    break;
                }
                k -= 1;
            }
        }
        nz = 0;
        for (int r = 0; r < rows_per_plane; ++r) {
            if (w.cnt_row[crow + p * rows_per_plane + r] > 0) {
                nz += 1;
            }
        }
        k = dbd_split(u, nz, &u);
        g = p * rows_per_plane;
        for (int r = 0; r < rows_per_plane; ++r) {
            g = p * rows_per_plane + r;
            if (w.cnt_row[crow + g] > 0) {
                if (k == 0) {
                    break;
                }
                k -= 1;
            }
        }
        k = dbd_split(u, (i64)w.cnt_row[crow + g], &u);
    } else {
        k = dbd_split(u, n_total_code, &u);
        for (int q = 0; q < n_planes; ++q) {
            p = q;
            i64 c = w.cnt_plane[cpl + q];
            if (k < c) {
                break;
            }
            k -= c;
        }
        g = p * rows_per_plane;
        for (int r = 0; r < rows_per_plane; ++r) {
            g = p * rows_per_plane + r;
            i64 c = w.cnt_row[crow + g];
            if (k < c) {
                break;
            }
            k -= c;
        }
    }
    int base = g * row_size;
    for (int c = 0; c < row_size; ++c) {
        if ((int)occ[base + c] == code) {
            if (k == 0) {
                return base + c;
            }
            k -= 1;
        }
    }
    return -1;
}

__device__ __forceinline__ void dbd_set_site(int site, int new_code, i8* occ, i64* n_total,
                                             const DbdWork& w, int n_sites, int rows_per_plane,
                                             int row_size) {
    int old = (int)occ[site];
    occ[site] = (i8)new_code;
    n_total[old] -= 1;
    n_total[new_code] += 1;
    int n_rows = n_sites / row_size;
    int n_planes = n_rows / rows_per_plane;
    int g = site / row_size;
    int p = g / rows_per_plane;
    w.cnt_row[old * n_rows + g] -= 1;
    w.cnt_row[new_code * n_rows + g] += 1;
    w.cnt_plane[old * n_planes + p] -= 1;
    w.cnt_plane[new_code * n_planes + p] += 1;
}

/* --- one replica ------------------------------------------------------------------------ */

__device__ __forceinline__ double dbd_propensity(int r, const i64* n_total, const DbdTables& t) {
    if (t.uni_kind[r] == 3) {  /* creation 0 -> A */
        if (t.uni_auto[r]) {
            i64 n = n_total[(int)t.uni_product1[r]];
            return __dmul_rn(t.uni_rate[r], (double)(n > 0 ? n : 1));
        }
        return t.uni_rate[r];
    }
    return __dmul_rn(t.uni_rate[r], (double)n_total[(int)t.uni_reactant[r]]);
}

/* Draw the next unimolecular event (Gillespie direct method); returns it (-1: none). */
__device__ int dbd_schedule(u64 key, u64* counter, double t_now, const i64* n_total,
                            const DbdTables& t, double* t_next) {
    double total = 0.0;
    for (int r = 0; r < t.n_uni; ++r) {
        total = __dadd_rn(total, dbd_propensity(r, n_total, t));
    }
    if (total <= 0.0) {
        *t_next = 0.0;
        return -1;
    }
    double u1 = dbd_uniform(key, *counter);
    double u2 = dbd_uniform(key, *counter + 1ULL);
    *counter += 2ULL;
    double target = __dmul_rn(u1, total);
    int chosen = -1;
    double cumulative = 0.0;
    for (int r = 0; r < t.n_uni; ++r) {
        double a = dbd_propensity(r, n_total, t);
        if (a > 0.0) {
            chosen = r;
            cumulative = __dadd_rn(cumulative, a);
            if (target < cumulative) {
                break;
            }
        }
    }
    *t_next = __dsub_rn(t_now, __ddiv_rn(log(__dsub_rn(1.0, u2)), total));
    return chosen;
}

/* Carry out unimolecular reaction rxn; advances *counter. */
__device__ void dbd_execute(int rxn, u64 key, u64* counter, i8* occ, i64* n_total,
                            const DbdWork& w, const DbdTables& t, int biased, int n_sites,
                            int rows_per_plane, int row_size) {
    int kind = t.uni_kind[rxn];
    if (kind == 3) {
        double u = dbd_uniform(key, *counter);
        *counter += 1ULL;
        int site = dbd_pick_code(u, 0, occ, w, n_total[0], biased, n_sites, rows_per_plane,
                                 row_size);
        if (site >= 0) {
            dbd_set_site(site, t.uni_product1[rxn], occ, n_total, w, n_sites, rows_per_plane,
                         row_size);
        }
        return;
    }
    int reactant = t.uni_reactant[rxn];
    if (kind == 2) {
        for (int attempt = 0; attempt < DBD_MAX_FISSION_TRIES; ++attempt) {
            double u = dbd_uniform(key, *counter);
            *counter += 1ULL;
            int site = dbd_pick_code(u, reactant, occ, w, n_total[reactant], biased, n_sites,
                                     rows_per_plane, row_size);
            if (site < 0) {
                return;
            }
            const int* nb = t.nbr + (i64)site * t.nbr_width;
            int n_free = 0;
            for (int j = 0; j < t.nnbr[site]; ++j) {
                if (occ[nb[j]] == 0) {
                    n_free += 1;
                }
            }
            if (n_free == 0) {
                continue;
            }
            u = dbd_uniform(key, *counter);
            *counter += 1ULL;
            i64 k = dbd_split(u, (i64)n_free, &u);
            int target = -1;
            for (int j = 0; j < t.nnbr[site]; ++j) {
                if (occ[nb[j]] == 0) {
                    if (k == 0) {
                        target = nb[j];
                        break;
                    }
                    k -= 1;
                }
            }
            dbd_set_site(site, t.uni_product1[rxn], occ, n_total, w, n_sites, rows_per_plane,
                         row_size);
            dbd_set_site(target, t.uni_product2[rxn], occ, n_total, w, n_sites, rows_per_plane,
                         row_size);
            return;
        }
        return;
    }
    double u = dbd_uniform(key, *counter);
    *counter += 1ULL;
    int site = dbd_pick_code(u, reactant, occ, w, n_total[reactant], biased, n_sites,
                             rows_per_plane, row_size);
    if (site >= 0) {
        int new_code = kind == 1 ? (int)t.uni_product1[rxn] : 0;
        dbd_set_site(site, new_code, occ, n_total, w, n_sites, rows_per_plane, row_size);
    }
}

/* One timestep: unimolecular Gillespie events up to T + dt, then one hop sweep.
   state = [pending reaction (-1 none), its firing time, current time T]. */
__device__ void dbd_step(u64 key, i8* occ, i64* n_total, double* state, double dt, int biased,
                         int n_sites, int n_codes, int rows_per_plane, int row_size,
                         int bag_rows_per_plane, int bag_row_size, const DbdTables& t,
                         const DbdWork& w) {
    u64 counter = 0ULL;
    double t_now = state[2];
    double t_end = __dadd_rn(t_now, dt);
    if (t.n_uni > 0) {
        int pending = (int)state[0];
        double t_next = state[1];
        if (pending < 0) {
            pending = dbd_schedule(key, &counter, t_now, n_total, t, &t_next);
        }
        bool counts_valid = false;
        while (pending >= 0 && t_next < t_end) {
            if (!counts_valid) {
                dbd_count_rows(occ, w, n_sites, n_codes, rows_per_plane, row_size);
                counts_valid = true;
            }
            dbd_execute(pending, key, &counter, occ, n_total, w, t, biased, n_sites,
                        rows_per_plane, row_size);
            t_now = t_next;
            pending = dbd_schedule(key, &counter, t_now, n_total, t, &t_next);
        }
        state[0] = (double)pending;
        state[1] = t_next;
    }
    state[2] = t_end;

    /* hop sweep: every molecule present now attempts one hop, in random order */
    int n_bag_rows = n_sites / bag_row_size;
    int n_bag_planes = n_bag_rows / bag_rows_per_plane;
    w.nplanes[0] = 0;
    for (int j = 0; j < n_bag_planes; ++j) {
        w.nrows[j] = 0;
    }
    for (int j = 0; j < n_bag_rows; ++j) {
        w.rowlen[j] = 0;
    }
    for (int site = 0; site < n_sites; ++site) {
        w.pos[site] = -1;
        if (occ[site] != 0) {
            dbd_bag_add(site, w, bag_rows_per_plane, bag_row_size);
        }
    }
    /* levels with a single plane/row are skipped; split(u, 1) would return (0, u) */
    bool single_plane = n_sites == bag_rows_per_plane * bag_row_size;
    bool single_row = bag_rows_per_plane == 1;
    while (w.nplanes[0] > 0) {
        double u = dbd_uniform(key, counter);
        counter += 1ULL;
        int p = 0;
        i64 i;
        if (!single_plane) {
            i = dbd_split(u, (i64)w.nplanes[0], &u);
            p = w.planes[i];
        }
        int g = p;
        if (!single_row) {
            i = dbd_split(u, (i64)w.nrows[p], &u);
            g = w.prow[p * bag_rows_per_plane + i];
        }
        i = dbd_split(u, (i64)w.rowlen[g], &u);
        int base = g * bag_row_size;
        int site = w.elem[base + i];
        int last_i = w.rowlen[g] - 1;
        int last = w.elem[base + last_i];
        w.elem[base + i] = last;
        w.pos[last] = (int)i;
        w.rowlen[g] = last_i;
        w.pos[site] = -1;
        if (last_i == 0) {
            dbd_bag_drop_row(g, w, bag_rows_per_plane);
        }
        i64 k = dbd_split(u, (i64)t.nnbr[site], &u);
        int target = t.nbr[(i64)site * t.nbr_width + k];
        int mover = occ[site];
        int partner = occ[target];
        if (partner == 0) {
            occ[target] = (i8)mover;
            occ[site] = 0;
            continue;
        }
        int pair = mover * n_codes + partner;
        for (int j = 0; j < t.pair_len[pair]; ++j) {
            int rxn = t.pair_rxn[t.pair_start[pair] + j];
            u = dbd_uniform(key, counter);
            counter += 1ULL;
            if (u < t.enc_prob[rxn]) {
                if (w.pos[target] >= 0) {
                    dbd_bag_remove(target, w, bag_rows_per_plane, bag_row_size);
                }
                n_total[mover] -= 1;
                n_total[partner] -= 1;
                n_total[0] += 2;
                if (t.enc_nprod[rxn] >= 1) {
                    occ[target] = t.enc_p1[rxn];
                    n_total[(int)t.enc_p1[rxn]] += 1;
                    n_total[0] -= 1;
                } else {
                    occ[target] = 0;
                }
                if (t.enc_nprod[rxn] == 2) {
                    occ[site] = t.enc_p2[rxn];
                    n_total[(int)t.enc_p2[rxn]] += 1;
                    n_total[0] -= 1;
                } else {
                    occ[site] = 0;
                }
                break;
            }
        }
    }
}

/* Record frames first_frame ... first_frame+n_frames-1 of every replica, stepping between.
   Frame f is the state at time f*dt before step f+1; no step follows last_frame.  occ, n_total
   and state are updated in place so that a run can be continued by another launch. */
extern "C" __global__ void dbd_advance(
        i8* occ, i64* n_total, double* state, const u64* keys,
        int n_rep, int n_sites, int n_codes,
        i64 first_frame, int n_frames, i64 last_frame,
        i8* out_lattice, int* out_counts, int store,
        double dt, int biased, int rows_per_plane, int row_size,
        int bag_rows_per_plane, int bag_row_size,
        const int* nbr, const int* nnbr, int nbr_width,
        int n_uni, const i8* uni_kind, const i8* uni_reactant, const i8* uni_product1,
        const i8* uni_product2, const double* uni_rate, const unsigned char* uni_auto,
        const int* pair_start, const int* pair_len, const int* pair_rxn,
        const double* enc_prob, const i8* enc_nprod, const i8* enc_p1, const i8* enc_p2,
        int* w_cnt_row, int* w_cnt_plane, int* w_elem, int* w_rowlen, int* w_pos, int* w_prow,
        int* w_nrows, int* w_rowpos, int* w_planes, int* w_nplanes, int* w_planepos) {
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= n_rep) {
        return;
    }
    int n_rows = n_sites / row_size;
    int n_planes = n_rows / rows_per_plane;
    int n_bag_rows = n_sites / bag_row_size;
    int n_bag_planes = n_bag_rows / bag_rows_per_plane;

    DbdTables t;
    t.nbr = nbr;
    t.nnbr = nnbr;
    t.nbr_width = nbr_width;
    t.n_uni = n_uni;
    t.uni_kind = uni_kind;
    t.uni_reactant = uni_reactant;
    t.uni_product1 = uni_product1;
    t.uni_product2 = uni_product2;
    t.uni_rate = uni_rate;
    t.uni_auto = uni_auto;
    t.pair_start = pair_start;
    t.pair_len = pair_len;
    t.pair_rxn = pair_rxn;
    t.enc_prob = enc_prob;
    t.enc_nprod = enc_nprod;
    t.enc_p1 = enc_p1;
    t.enc_p2 = enc_p2;

    i64 rr = (i64)r;
    DbdWork w;
    w.cnt_row = w_cnt_row + rr * n_codes * n_rows;
    w.cnt_plane = w_cnt_plane + rr * n_codes * n_planes;
    w.elem = w_elem + rr * n_sites;
    w.rowlen = w_rowlen + rr * n_bag_rows;
    w.pos = w_pos + rr * n_sites;
    w.prow = w_prow + rr * n_bag_rows;
    w.nrows = w_nrows + rr * n_bag_planes;
    w.rowpos = w_rowpos + rr * n_bag_rows;
    w.planes = w_planes + rr * n_bag_planes;
    w.nplanes = w_nplanes + rr;
    w.planepos = w_planepos + rr * n_bag_planes;

    i8* occ_r = occ + rr * n_sites;
    i64* total_r = n_total + rr * n_codes;
    double* state_r = state + rr * 3;
    u64 key_r = keys[r];
    for (int i = 0; i < n_frames; ++i) {
        i64 frame = first_frame + i;
        i64 out = rr * n_frames + i;
        if (store) {
            i8* dst = out_lattice + out * n_sites;
            for (int s = 0; s < n_sites; ++s) {
                dst[s] = occ_r[s];
            }
        }
        for (int code = 1; code < n_codes; ++code) {
            out_counts[out * (n_codes - 1) + code - 1] = (int)total_r[code];
        }
        if (frame < last_frame) {
            u64 key = dbd_derive(key_r, (u64)frame);
            dbd_step(key, occ_r, total_r, state_r, dt, biased, n_sites, n_codes, rows_per_plane,
                     row_size, bag_rows_per_plane, bag_row_size, t, w);
        }
    }
}
"""


@functools.lru_cache(maxsize=1)
def _kernel() -> cp.RawKernel:
    """The compiled kernel (CuPy compiles it with NVRTC on first launch and caches it on disk)."""
    return cp.RawKernel(KERNEL_SOURCE, KERNEL_NAME, options=KERNEL_OPTIONS)


def _device(array: np.ndarray, dtype) -> cp.ndarray:
    """Contiguous device copy; empty tables get one dummy element (never read)."""
    host = np.ascontiguousarray(array, dtype=dtype)
    if host.size == 0:
        host = np.zeros(1, dtype=dtype)
    return cp.asarray(host)


class CupyRunner(EnsembleRunner):
    """Advance an ensemble chunk by chunk on the GPU, yielding ``(lattices, counts)`` per chunk.

    Same interface as :class:`~dbdlab.simulate._numba_runner.NumbaRunner`: ``lattices`` has
    shape ``(replicas, frames_in_chunk, n_sites)`` (int8) and ``counts``
    ``(replicas, frames_in_chunk, n_species)`` (int32), both host NumPy arrays; the ensemble
    state stays on the device between chunks.
    """

    def __init__(self, lattice: Lattice, tables: NetworkTables, n_species: int,
                 initial: np.ndarray, keys: list[int], steps: int, dt: float,
                 biased: bool) -> None:
        super().__init__(lattice, tables, n_species, initial, keys, steps, dt, biased)
        self.occ = cp.asarray(self.occ)
        self.n_total = cp.asarray(self.n_total)
        self.state = cp.asarray(self.state)
        self.keys = cp.asarray(self.keys)
        n_sites, n_codes, n_rep = self.n_sites, self.n_codes, self.n_rep
        nbr, nnbr = lattice.neighbours
        self.nbr_width = int(nbr.shape[1])
        self.nbr = _device(nbr, np.int32)
        self.nnbr = _device(nnbr, np.int32)
        t = tables
        self.n_uni = int(t.uni_kind.shape[0])
        self._tables = (
            _device(t.uni_kind, np.int8), _device(t.uni_reactant, np.int8),
            _device(t.uni_product1, np.int8), _device(t.uni_product2, np.int8),
            _device(t.uni_rate, np.float64), _device(t.uni_autocatalytic, np.uint8),
            _device(t.pair_start, np.int32), _device(t.pair_len, np.int32),
            _device(t.pair_rxn, np.int32), _device(t.enc_probability, np.float64),
            _device(t.enc_nproducts, np.int8), _device(t.enc_product1, np.int8),
            _device(t.enc_product2, np.int8),
        )

        # per-replica work arrays, allocated once: (replicas, size) int32
        n_rows = n_sites // self.row_size
        n_planes = n_rows // self.rows_per_plane
        bag_rows_per_plane, bag_row_size = self.bag_geometry
        n_bag_rows = n_sites // bag_row_size
        n_bag_planes = n_bag_rows // bag_rows_per_plane
        sizes = (n_codes * n_rows, n_codes * n_planes, n_sites, n_bag_rows, n_sites, n_bag_rows,
                 n_bag_planes, n_bag_rows, n_bag_planes, 1, n_bag_planes)
        self._work = tuple(cp.zeros((n_rep, size), dtype=np.int32) for size in sizes)

    def advance(self, first_frame: int, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
        out_lattice = cp.empty((self.n_rep, n_frames, self.n_sites), dtype=np.int8)
        out_counts = cp.empty((self.n_rep, n_frames, self.n_species), dtype=np.int32)
        i32, i64 = np.int32, np.int64
        args = (
            self.occ, self.n_total, self.state, self.keys,
            i32(self.n_rep), i32(self.n_sites), i32(self.n_codes),
            i64(first_frame), i32(n_frames), i64(self.steps - 1),
            out_lattice, out_counts, i32(1),
            np.float64(self.dt), i32(self.biased), i32(self.rows_per_plane), i32(self.row_size),
            i32(self.bag_geometry[0]), i32(self.bag_geometry[1]),
            self.nbr, self.nnbr, i32(self.nbr_width),
            i32(self.n_uni), *self._tables,
            *self._work,
        )
        grid = ((self.n_rep + BLOCK_SIZE - 1) // BLOCK_SIZE,)
        _kernel()(grid, (BLOCK_SIZE,), args)
        return cp.asnumpy(out_lattice), cp.asnumpy(out_counts)
