/* CUDA kernel of the lattice simulator: one thread per replica.

   A line-by-line transcription of the Numba kernel (dbdlab/simulate/_numba.py: advance → _step →
   _schedule / _execute / _pick_code and the hierarchical bag), which follows the algorithm and
   the order of random draws of dbdlab/simulate/_reference.py.  Every float64 of the Numba code
   is a double here and the integer logic is the same, so a run is draw-for-draw identical to
   Numba.  Products and sums are written with __dmul_rn / __dadd_rn / __dsub_rn and the source is
   compiled with --fmad=false: a fused multiply-add (e.g. in the leftover fraction u·n − ⌊u·n⌋
   of a split) would change the last bits of the uniforms re-used by the next level of a pick.
   The only possible difference from Numba on a GPU is CUDA's log (≤ 1 ulp from glibc's) in the
   Gillespie waiting times; networks without unimolecular reactions never call it.

   The kernel arguments are five records (host side: NumPy structured scalars of the same
   layout, dbdlab/simulate/_cuda.py), so the Python driver and this file name every field once.
   The same source compiles as plain C++ for the CPU (tests/cuda_cpu/cuda_cpu_shim.h). */
#include "rng.cuh"

typedef signed char i8;
typedef long long i64;

#define DBD_MAX_FISSION_TRIES 20

/* Lattice geometry and the random-selection layout (read-only, shared by all replicas). */
struct DbdLattice {
    const int* nbr;          /* (n_sites, nbr_width) neighbour sites */
    const int* nnbr;         /* (n_sites,) neighbours per site */
    int nbr_width;
    int n_sites;
    int rows_per_plane;      /* row/plane structure of the biased picks */
    int row_size;
    int bag_rows_per_plane;  /* row/plane structure of the hop sweep's bag */
    int bag_row_size;
    int biased;              /* 1: the reference's row/plane-biased selection; 0: uniform */
};

/* The network's flat tables (dbdlab.simulate.reactions.NetworkTables), read-only. */
struct DbdNetwork {
    int n_codes;             /* species + 1 (code 0 = empty) */
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

/* Ensemble state, updated in place (row r belongs to replica r). */
struct DbdEnsemble {
    i8* occ;                 /* (n_rep, n_sites) species codes */
    i64* n_total;            /* (n_rep, n_codes) molecules per code */
    double* state;           /* (n_rep, 3): pending reaction (-1 none), its time, time T */
    const u64* keys;         /* (n_rep,) stream keys */
    double dt;
    int n_rep;
};

/* Frames recorded by one launch: first_frame ... first_frame + n_frames - 1. */
struct DbdFrames {
    i8* lattice;             /* (n_rep, n_frames, n_sites) */
    int* counts;             /* (n_rep, n_frames, n_codes - 1) */
    i64 first_frame;
    i64 last_frame;          /* no step follows this frame */
    int n_frames;
};

/* Per-replica work arrays: replica r uses rows r of (n_rep, size) int32 arrays. */
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

__device__ void dbd_count_rows(const i8* occ, const DbdWork& w, const DbdLattice& lat,
                               int n_codes) {
    int n_rows = lat.n_sites / lat.row_size;
    int n_planes = n_rows / lat.rows_per_plane;
    for (int j = 0; j < n_codes * n_rows; ++j) {
        w.cnt_row[j] = 0;
    }
    for (int j = 0; j < n_codes * n_planes; ++j) {
        w.cnt_plane[j] = 0;
    }
    for (int g = 0; g < n_rows; ++g) {
        int base = g * lat.row_size;
        for (int c = 0; c < lat.row_size; ++c) {
            w.cnt_row[(int)occ[base + c] * n_rows + g] += 1;
        }
    }
    for (int code = 0; code < n_codes; ++code) {
        for (int p = 0; p < n_planes; ++p) {
            int total = 0;
            for (int r = 0; r < lat.rows_per_plane; ++r) {
                total += w.cnt_row[code * n_rows + p * lat.rows_per_plane + r];
            }
            w.cnt_plane[code * n_planes + p] = total;
        }
    }
}

/* Site of a random molecule of `code` (0 = a random empty site), or -1 if there is none. */
__device__ int dbd_pick_code(double u, int code, const i8* occ, const DbdWork& w,
                             i64 n_total_code, const DbdLattice& lat) {
    int rows_per_plane = lat.rows_per_plane;
    int n_rows = lat.n_sites / lat.row_size;
    int n_planes = n_rows / rows_per_plane;
    if (n_total_code <= 0) {
        return -1;
    }
    int crow = code * n_rows;
    int cpl = code * n_planes;
    i64 k;
    int p = 0;  /* keeps the last loop value if a loop ends without break, as in Numba */
    int g;
    if (lat.biased) {
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
    int base = g * lat.row_size;
    for (int c = 0; c < lat.row_size; ++c) {
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
                                             const DbdWork& w, const DbdLattice& lat) {
    int old = (int)occ[site];
    occ[site] = (i8)new_code;
    n_total[old] -= 1;
    n_total[new_code] += 1;
    int n_rows = lat.n_sites / lat.row_size;
    int n_planes = n_rows / lat.rows_per_plane;
    int g = site / lat.row_size;
    int p = g / lat.rows_per_plane;
    w.cnt_row[old * n_rows + g] -= 1;
    w.cnt_row[new_code * n_rows + g] += 1;
    w.cnt_plane[old * n_planes + p] -= 1;
    w.cnt_plane[new_code * n_planes + p] += 1;
}

/* --- one replica ------------------------------------------------------------------------ */

__device__ __forceinline__ double dbd_propensity(int r, const i64* n_total,
                                                 const DbdNetwork& net) {
    if (net.uni_kind[r] == 3) {  /* creation 0 -> A */
        if (net.uni_auto[r]) {
            i64 n = n_total[(int)net.uni_product1[r]];
            return __dmul_rn(net.uni_rate[r], (double)(n > 0 ? n : 1));
        }
        return net.uni_rate[r];
    }
    return __dmul_rn(net.uni_rate[r], (double)n_total[(int)net.uni_reactant[r]]);
}

/* Draw the next unimolecular event (Gillespie direct method); returns it (-1: none). */
__device__ int dbd_schedule(u64 key, u64* counter, double t_now, const i64* n_total,
                            const DbdNetwork& net, double* t_next) {
    double total = 0.0;
    for (int r = 0; r < net.n_uni; ++r) {
        total = __dadd_rn(total, dbd_propensity(r, n_total, net));
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
    for (int r = 0; r < net.n_uni; ++r) {
        double a = dbd_propensity(r, n_total, net);
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
                            const DbdWork& w, const DbdLattice& lat, const DbdNetwork& net) {
    int kind = net.uni_kind[rxn];
    if (kind == 3) {
        double u = dbd_uniform(key, *counter);
        *counter += 1ULL;
        int site = dbd_pick_code(u, 0, occ, w, n_total[0], lat);
        if (site >= 0) {
            dbd_set_site(site, net.uni_product1[rxn], occ, n_total, w, lat);
        }
        return;
    }
    int reactant = net.uni_reactant[rxn];
    if (kind == 2) {
        for (int attempt = 0; attempt < DBD_MAX_FISSION_TRIES; ++attempt) {
            double u = dbd_uniform(key, *counter);
            *counter += 1ULL;
            int site = dbd_pick_code(u, reactant, occ, w, n_total[reactant], lat);
            if (site < 0) {
                return;
            }
            const int* nb = lat.nbr + (i64)site * lat.nbr_width;
            int n_free = 0;
            for (int j = 0; j < lat.nnbr[site]; ++j) {
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
            for (int j = 0; j < lat.nnbr[site]; ++j) {
                if (occ[nb[j]] == 0) {
                    if (k == 0) {
                        target = nb[j];
                        break;
                    }
                    k -= 1;
                }
            }
            dbd_set_site(site, net.uni_product1[rxn], occ, n_total, w, lat);
            dbd_set_site(target, net.uni_product2[rxn], occ, n_total, w, lat);
            return;
        }
        return;
    }
    double u = dbd_uniform(key, *counter);
    *counter += 1ULL;
    int site = dbd_pick_code(u, reactant, occ, w, n_total[reactant], lat);
    if (site >= 0) {
        int new_code = kind == 1 ? (int)net.uni_product1[rxn] : 0;
        dbd_set_site(site, new_code, occ, n_total, w, lat);
    }
}

/* One timestep: unimolecular Gillespie events up to T + dt, then one hop sweep.
   state = [pending reaction (-1 none), its firing time, current time T]. */
__device__ void dbd_step(u64 key, i8* occ, i64* n_total, double* state, double dt,
                         const DbdLattice& lat, const DbdNetwork& net, const DbdWork& w) {
    int n_sites = lat.n_sites;
    int n_codes = net.n_codes;
    int bag_rows_per_plane = lat.bag_rows_per_plane;
    int bag_row_size = lat.bag_row_size;
    u64 counter = 0ULL;
    double t_now = state[2];
    double t_end = __dadd_rn(t_now, dt);
    if (net.n_uni > 0) {
        int pending = (int)state[0];
        double t_next = state[1];
        if (pending < 0) {
            pending = dbd_schedule(key, &counter, t_now, n_total, net, &t_next);
        }
        bool counts_valid = false;
        while (pending >= 0 && t_next < t_end) {
            if (!counts_valid) {
                dbd_count_rows(occ, w, lat, n_codes);
                counts_valid = true;
            }
            dbd_execute(pending, key, &counter, occ, n_total, w, lat, net);
            t_now = t_next;
            pending = dbd_schedule(key, &counter, t_now, n_total, net, &t_next);
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
        i64 k = dbd_split(u, (i64)lat.nnbr[site], &u);
        int target = lat.nbr[(i64)site * lat.nbr_width + k];
        int mover = occ[site];
        int partner = occ[target];
        /* Branch-free move, as in the Numba kernel: a blocked hop writes the old values back.
           pair_len[(mover, empty)] is 0, so only possible reactions branch below. */
        bool empty = partner == 0;
        occ[target] = (i8)(empty ? mover : partner);
        occ[site] = (i8)(empty ? 0 : mover);
        int pair = mover * n_codes + partner;
        if (net.pair_len[pair] == 0) {
            continue;
        }
        for (int j = 0; j < net.pair_len[pair]; ++j) {
            int rxn = net.pair_rxn[net.pair_start[pair] + j];
            u = dbd_uniform(key, counter);
            counter += 1ULL;
            if (u < net.enc_prob[rxn]) {
                if (w.pos[target] >= 0) {
                    dbd_bag_remove(target, w, bag_rows_per_plane, bag_row_size);
                }
                n_total[mover] -= 1;
                n_total[partner] -= 1;
                n_total[0] += 2;
                if (net.enc_nprod[rxn] >= 1) {
                    occ[target] = net.enc_p1[rxn];
                    n_total[(int)net.enc_p1[rxn]] += 1;
                    n_total[0] -= 1;
                } else {
                    occ[target] = 0;
                }
                if (net.enc_nprod[rxn] == 2) {
                    occ[site] = net.enc_p2[rxn];
                    n_total[(int)net.enc_p2[rxn]] += 1;
                    n_total[0] -= 1;
                } else {
                    occ[site] = 0;
                }
                break;
            }
        }
    }
}

/* Record frames f.first_frame ... + f.n_frames - 1 of every replica, stepping between.  Frame k
   is the state at time k*dt before step k+1; no step follows f.last_frame.  The ensemble state
   is updated in place, so that a run can be continued by another launch. */
extern "C" __global__ void dbd_advance(DbdEnsemble e, DbdFrames f, DbdLattice lat,
                                       DbdNetwork net, DbdWork work) {
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= e.n_rep) {
        return;
    }
    int n_sites = lat.n_sites;
    int n_codes = net.n_codes;
    int n_rows = n_sites / lat.row_size;
    int n_planes = n_rows / lat.rows_per_plane;
    int n_bag_rows = n_sites / lat.bag_row_size;
    int n_bag_planes = n_bag_rows / lat.bag_rows_per_plane;

    i64 rr = (i64)r;
    DbdWork w;
    w.cnt_row = work.cnt_row + rr * n_codes * n_rows;
    w.cnt_plane = work.cnt_plane + rr * n_codes * n_planes;
    w.elem = work.elem + rr * n_sites;
    w.rowlen = work.rowlen + rr * n_bag_rows;
    w.pos = work.pos + rr * n_sites;
    w.prow = work.prow + rr * n_bag_rows;
    w.nrows = work.nrows + rr * n_bag_planes;
    w.rowpos = work.rowpos + rr * n_bag_rows;
    w.planes = work.planes + rr * n_bag_planes;
    w.nplanes = work.nplanes + rr;
    w.planepos = work.planepos + rr * n_bag_planes;

    i8* occ_r = e.occ + rr * n_sites;
    i64* total_r = e.n_total + rr * n_codes;
    double* state_r = e.state + rr * 3;
    u64 key_r = e.keys[r];
    for (int i = 0; i < f.n_frames; ++i) {
        i64 frame = f.first_frame + i;
        i64 out = rr * f.n_frames + i;
        i8* dst = f.lattice + out * n_sites;
        for (int s = 0; s < n_sites; ++s) {
            dst[s] = occ_r[s];
        }
        for (int code = 1; code < n_codes; ++code) {
            f.counts[out * (n_codes - 1) + code - 1] = (int)total_r[code];
        }
        if (frame < f.last_frame) {
            u64 key = dbd_derive(key_r, (u64)frame);
            dbd_step(key, occ_r, total_r, state_r, e.dt, lat, net, w);
        }
    }
}
