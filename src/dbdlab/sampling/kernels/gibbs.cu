/* CUDA kernel of block Gibbs sampling for layered lattice Boltzmann machines: one thread block
   per chain, its threads sharing the units of each layer update, all sweeps in one launch.

   The CUDA twin of the Numba kernel dbdlab/sampling/_numba_layers.py (_sweeps_kernel), with the
   same data and the same arithmetic:
   * all layers of chain c live in row c of `state` (uint8 codes), one always-empty pad unit
     after each layer, so the sentinel of an open border reads "empty" without a branch;
   * unit i of layer l has a neighbour-count pattern, the sum of per-code increments step_lo /
     step_hi over its lower / upper neighbours (absolute positions nbr_lo / nbr_hi in the row);
   * the cumulative conditional probabilities of every pattern are tabulated on the host by the
     NumPy sampler's own code (cumulative_tables), so no exp is evaluated here;
   * the uniform of unit i of layer l in sweep s of chain c is draw i of
     derive(derive(keys[c], s), l) (or of keys[c] itself for a single layer update), and the
     species is the count of cumulative sums it has passed (empty if all): the NumPy rule.
   Only table reads, integer sums and comparisons of an exactly computed uniform: samples are
   bit-identical to the NumPy and Numba samplers on any device.  Units of one layer read only
   the adjacent layers, so the threads of one layer update are independent; a block barrier
   separates the layer updates of a chain.

   The same source compiles as plain C++ for the CPU (tests/cuda_cpu/cuda_cpu_shim.h). */
#include "rng.cuh"

typedef long long i64;

/* Static layout of a model (dbdlab.sampling._numba_layers._Layout) and its tables. */
struct DbdGibbsModel {
    const i64* offsets;      /* (L+1,) start of layer l in a chain's row */
    const i64* n_units;      /* (L,) */
    const i64* n_species;    /* (L,) */
    const unsigned* nbr_lo;  /* lower neighbours' row positions, layer blocks from lo_start */
    const i64* lo_start;
    const i64* q_lo;         /* (L,) lower neighbours per unit */
    const i64* step_lo;      /* (L, step_width) code -> pattern increment, lower side */
    const unsigned* nbr_hi;  /* the same for the upper side */
    const i64* hi_start;
    const i64* q_hi;
    const i64* step_hi;
    const double* table;     /* (T, table_width) cumulative probabilities */
    const i64* table_start;  /* (L,) start of layer l's block in a table row */
    i64 step_width;
    i64 table_width;
    int per_chain_table;     /* 1: row c of `table` belongs to chain c (θ per chain); 0: row 0 */
};

/* The chains: state rows and stream keys. */
struct DbdGibbsChains {
    unsigned char* state;    /* (n_chains, row_length) codes */
    const unsigned long long* keys;  /* (n_chains,) */
    i64 row_length;
    int n_chains;
};

/* A call: n_sweeps sweeps, each updating the layers of `sequence` in order. */
struct DbdGibbsRun {
    const i64* sequence;     /* (n_sequence,) layer indices */
    i64 first_sweep;         /* number of the first sweep (its random streams) */
    int n_sequence;
    int n_sweeps;
    int keys_are_layer_keys; /* 1: keys[c] is already the key of a single layer update */
};

/* New code of unit i of layer l in `row` (the chain's state), from the uniform of `key`. */
__device__ __forceinline__ void dbd_gibbs_unit(unsigned char* row, const double* tab,
                                               const DbdGibbsModel& m, int l, i64 i, u64 key) {
    i64 q = m.q_lo[l];
    const unsigned* nb = m.nbr_lo + m.lo_start[l] + i * q;
    const i64* step = m.step_lo + l * m.step_width;
    i64 pattern = 0;
    for (i64 k = 0; k < q; ++k) {
        pattern += step[row[nb[k]]];
    }
    q = m.q_hi[l];
    nb = m.nbr_hi + m.hi_start[l] + i * q;
    step = m.step_hi + l * m.step_width;
    for (i64 k = 0; k < q; ++k) {
        pattern += step[row[nb[k]]];
    }
    double u = dbd_uniform(key, (u64)i);
    i64 n_species = m.n_species[l];
    const double* cum = tab + m.table_start[l] + pattern * n_species;
    int passed = 0;
    for (i64 a = 0; a < n_species; ++a) {
        passed += u >= cum[a];
    }
    row[m.offsets[l] + i] = (unsigned char)(passed < n_species ? passed + 1 : 0);
}

/* All sweeps of a call in one launch: block b runs chains b, b + gridDim.x, ...; its threads
   share the units of each layer update and meet at a barrier before the next layer (which
   reads this one).  Every thread of a block takes the same loop trips, so all reach each
   barrier. */
extern "C" __global__ void dbd_gibbs_sweeps(DbdGibbsChains ch, DbdGibbsModel m, DbdGibbsRun run) {
    for (i64 c = blockIdx.x; c < ch.n_chains; c += gridDim.x) {
        unsigned char* row = ch.state + c * ch.row_length;
        const double* tab = m.table + (m.per_chain_table ? c * m.table_width : 0);
        u64 chain_key = ch.keys[c];
        for (int s = 0; s < run.n_sweeps; ++s) {
            u64 sweep_key = dbd_derive(chain_key, (u64)(run.first_sweep + s));
            for (int g = 0; g < run.n_sequence; ++g) {
                int l = (int)run.sequence[g];
                u64 key = run.keys_are_layer_keys ? chain_key : dbd_derive(sweep_key, (u64)l);
                for (i64 i = threadIdx.x; i < m.n_units[l]; i += blockDim.x) {
                    dbd_gibbs_unit(row, tab, m, l, i, key);
                }
                __syncthreads();
            }
        }
    }
}
