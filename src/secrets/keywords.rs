//! The keyword prefilter: every occurrence of every keyword (ASCII case-insensitively,
//! overlapping ones too) in one pass over the text, by an Aho-Corasick automaton compiled to a
//! DFA over byte classes. Built in microseconds, so even a commit message pays nothing for it;
//! its inner loop is one table lookup per byte.

/// From this many bytes a text is read as two halves at once.
const SPLIT_FROM: usize = 4096;

/// A DFA that finds keywords. States are numbered so that every state where a keyword ends
/// comes last: one comparison per byte tells whether anything matched.
pub(super) struct Keywords {
    /// The class of each byte: one per byte that occurs in a keyword (both cases of a letter
    /// share one), and class 0 for all the others.
    classes: [u8; 256],
    /// The number of classes: the width of a row of `next`.
    stride: usize,
    /// For each state (its index times `stride`) and class, the next state (likewise
    /// premultiplied).
    next: Vec<u32>,
    /// The first (premultiplied) state where a keyword ends.
    first_match: u32,
    /// For each state where keywords end, counted from `first_match`: the keywords (indexes
    /// into the patterns given) that end there, those that end inside longer ones included.
    ends: Vec<Vec<usize>>,
}

impl Keywords {
    /// The automaton for `patterns` (ASCII case does not matter; empty ones are never found).
    pub(super) fn new(patterns: &[String]) -> Self {
        const NONE: usize = usize::MAX;
        let patterns: Vec<Vec<u8>> = patterns.iter().map(|p| p.to_ascii_lowercase().into_bytes()).collect();
        let mut classes = [0u8; 256];
        let mut stride = 1usize;
        for &b in patterns.iter().flatten() {
            if classes[usize::from(b)] == 0 {
                // At most 256 distinct bytes less the upper-case letters folded onto lower case.
                classes[usize::from(b)] = u8::try_from(stride).unwrap_or(u8::MAX);
                stride += 1;
            }
        }
        for upper in b'A'..=b'Z' {
            classes[usize::from(upper)] = classes[usize::from(upper.to_ascii_lowercase())];
        }
        // The trie: `goto[state * stride + class]`, `NONE` where there is no edge.
        let mut goto: Vec<usize> = vec![NONE; stride];
        let mut ends: Vec<Vec<usize>> = vec![Vec::new()];
        for (i, p) in patterns.iter().enumerate() {
            if p.is_empty() {
                continue;
            }
            let mut s = 0;
            for &b in p {
                let at = s * stride + usize::from(classes[usize::from(b)]);
                if goto[at] == NONE {
                    goto[at] = ends.len();
                    goto.extend(std::iter::repeat_n(NONE, stride));
                    ends.push(Vec::new());
                }
                s = goto[at];
            }
            ends[s].push(i);
        }
        // Breadth first: each state's failure link, its missing edges taken from there, and the
        // keywords that end at its failure state added to its own.
        let states = ends.len();
        let mut delta = vec![0usize; states * stride];
        let mut fail = vec![0usize; states];
        let mut queue = std::collections::VecDeque::new();
        for c in 0..stride {
            if goto[c] != NONE {
                delta[c] = goto[c];
                queue.push_back(goto[c]);
            }
        }
        while let Some(s) = queue.pop_front() {
            let inherited = ends[fail[s]].clone();
            ends[s].extend(inherited);
            for c in 0..stride {
                let child = goto[s * stride + c];
                if child == NONE {
                    delta[s * stride + c] = delta[fail[s] * stride + c];
                } else {
                    fail[child] = delta[fail[s] * stride + c];
                    delta[s * stride + c] = child;
                    queue.push_back(child);
                }
            }
        }
        // Renumber: states where nothing ends first (the root stays 0), then the others.
        let mut order: Vec<usize> = (0..states).filter(|&s| ends[s].is_empty()).collect();
        let quiet = order.len();
        order.extend((0..states).filter(|&s| !ends[s].is_empty()));
        let mut new_id = vec![0usize; states];
        for (n, &s) in order.iter().enumerate() {
            new_id[s] = n;
        }
        let premultiplied = |n: usize| u32::try_from(n * stride).expect("keyword automaton under 4 GiB");
        let mut next = vec![0u32; states * stride];
        for (n, &s) in order.iter().enumerate() {
            for c in 0..stride {
                next[n * stride + c] = premultiplied(new_id[delta[s * stride + c]]);
            }
        }
        let ends = order[quiet..]
            .iter()
            .map(|&s| {
                let mut e = std::mem::take(&mut ends[s]);
                e.sort_unstable();
                e.dedup();
                e
            })
            .collect();
        Self { classes, stride, next, first_match: premultiplied(quiet), ends }
    }

    /// How many states end a keyword: [`Keywords::find`] reports each by its number below this.
    pub(super) fn match_states(&self) -> usize {
        self.ends.len()
    }

    /// The keywords that end in match state `m`.
    pub(super) fn ends(&self, m: usize) -> &[usize] {
        &self.ends[m]
    }

    /// Calls `found(end, m)` for each position `end` (one past a keyword's last byte) where
    /// keywords end, `m` the match state (see [`Keywords::ends`]), in order.
    pub(super) fn find(&self, haystack: &[u8], mut found: impl FnMut(usize, usize)) {
        // A text of some size is read as two halves at once, split after a line break (which no
        // keyword spans): each byte's lookup waits for the one before, so two independent
        // walks take little longer than one. The second half's matches wait for the first's.
        let half = haystack.len() / 2;
        let split = (haystack.len() >= SPLIT_FROM && self.classes[usize::from(b'\n')] == 0)
            .then(|| memchr::memchr(b'\n', &haystack[half..]).map(|p| half + p + 1))
            .flatten();
        let Some(split) = split else {
            self.walk(haystack, 0, 0, &mut found);
            return;
        };
        let (first, second) = haystack.split_at(split);
        let mut later = Vec::new();
        let (next, classes, first_match) = (&self.next[..], &self.classes, self.first_match);
        let (mut a, mut b) = (0u32, 0u32);
        let both = first.len().min(second.len());
        for (i, (&x, &y)) in first[..both].iter().zip(&second[..both]).enumerate() {
            a = next[a as usize + usize::from(classes[usize::from(x)])];
            b = next[b as usize + usize::from(classes[usize::from(y)])];
            if a >= first_match {
                found(i + 1, (a - first_match) as usize / self.stride);
            }
            if b >= first_match {
                later.push((split + i + 1, (b - first_match) as usize / self.stride));
            }
        }
        self.walk(&first[both..], both, a, &mut found);
        self.walk(&second[both..], split + both, b, &mut |end, m| later.push((end, m)));
        for (end, m) in later {
            found(end, m);
        }
    }

    /// The walk of [`Keywords::find`] over `bytes`, which start at `offset` in the text, from
    /// state `s`.
    fn walk(&self, bytes: &[u8], offset: usize, mut s: u32, found: &mut impl FnMut(usize, usize)) {
        let (next, classes, first_match) = (&self.next[..], &self.classes, self.first_match);
        for (i, &b) in bytes.iter().enumerate() {
            s = next[s as usize + usize::from(classes[usize::from(b)])];
            if s >= first_match {
                found(offset + i + 1, (s - first_match) as usize / self.stride);
            }
        }
    }
}
