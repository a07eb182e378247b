//! Union-find over node indexes: switches joined by links make one L2 domain, for the
//! planner's segments, for the loop check and for routes around links that are down.

/// Disjoint sets of `0..n`, merged by `join`.
pub(super) struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    /// `n` sets of one element each.
    pub(super) fn new(n: usize) -> UnionFind {
        UnionFind {
            parent: (0..n).collect(),
        }
    }

    /// The element that names `x`'s set: its smallest.
    pub(super) fn root(&mut self, mut x: usize) -> usize {
        let p = &mut self.parent;
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }

    /// Merge the sets of `a` and `b`; false when they were one set already.
    pub(super) fn join(&mut self, a: usize, b: usize) -> bool {
        let (ra, rb) = (self.root(a), self.root(b));
        self.parent[ra.max(rb)] = ra.min(rb);
        ra != rb
    }
}
