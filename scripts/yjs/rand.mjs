// Small seeded PRNG (mulberry32) plus helpers. Deterministic per seed; used
// by golden.mjs and scenario.mjs instead of Math.random.

export const createRng = (seed) => {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const rng = {
    /** float in [0, 1) */
    next,
    /** integer in [lo, hi] (inclusive) */
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    /** true with probability p */
    chance: (p) => next() < p,
    /** random element of a non-empty array */
    pick: (arr) => arr[Math.floor(next() * arr.length)],
    /** weighted choice: entries are [weight, value] */
    weighted: (entries) => {
      let total = 0
      for (const [w] of entries) total += w
      let r = next() * total
      for (const [w, v] of entries) {
        if (r < w) return v
        r -= w
      }
      return entries[entries.length - 1][1]
    },
    /** uint32 */
    uint32: () => Math.floor(next() * 4294967296) >>> 0
  }
  return rng
}
