//! Every head's class probabilities for a sparse feature vector, in one pass.

use std::ops::Range;

use super::Head;

/// Lanes of one block of class weights: a multiple of the SIMD width, so the
/// compiler turns the per-feature update into a few vector instructions.
pub(super) const LANES: usize = 8;

/// Every head's weights side by side, one padded row per feature, so that
/// labelling reads each feature's weights once, for all heads, in one
/// cache-friendly pass.
#[derive(Debug, Clone, Default)]
pub(super) struct Scorer {
    /// Per head: the range of its classes within a row.
    pub(super) heads: Vec<Range<usize>>,
    /// Blocks per row (all heads' classes, padded with zeros).
    blocks: usize,
    intercepts: Vec<[f32; LANES]>,
    /// `features × blocks`, row-major.
    weights: Vec<[f32; LANES]>,
}

impl Scorer {
    pub(super) fn new(heads: &[Head], features: usize) -> Scorer {
        let mut ranges = Vec::with_capacity(heads.len());
        let mut width = 0;
        for head in heads {
            ranges.push(width..width + head.classes.len());
            width += head.classes.len();
        }
        let blocks = width.div_ceil(LANES);
        let mut intercepts = vec![[0.0; LANES]; blocks];
        let mut weights = vec![[0.0; LANES]; features * blocks];
        for (head, range) in heads.iter().zip(&ranges) {
            for (c, column) in range.clone().enumerate() {
                intercepts[column / LANES][column % LANES] = head.intercepts[c];
                for f in 0..features {
                    weights[f * blocks + column / LANES][column % LANES] =
                        head.feature_weights(f)[c];
                }
            }
        }
        Scorer {
            heads: ranges,
            blocks,
            intercepts,
            weights,
        }
    }

    /// Every head's class probabilities for a sparse feature vector, into
    /// `probs` (the heads' classes one after another).
    pub(super) fn scores_into(
        &self,
        features: &[(u32, f32)],
        logits: &mut Vec<[f32; LANES]>,
        probs: &mut Vec<f32>,
    ) {
        logits.clear();
        logits.extend_from_slice(&self.intercepts);
        for &(feature, value) in features {
            let start = feature as usize * self.blocks;
            let row = &self.weights[start..start + self.blocks];
            for (sum, weights) in logits.iter_mut().zip(row) {
                *sum = std::array::from_fn(|k| sum[k] + value * weights[k]);
            }
        }
        probs.clear();
        probs.extend(logits.iter().flatten());
        for range in &self.heads {
            softmax(&mut probs[range.clone()]);
        }
    }
}

pub(super) fn softmax(logits: &mut [f32]) {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in logits.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    logits.iter_mut().for_each(|v| *v /= sum);
}

/// Index of the largest value; the first one on ties, so results are stable.
pub(super) fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold(0, |best, (i, v)| if *v > values[best] { i } else { best })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_matches_the_closed_form() {
        let mut v = vec![1.0f32, 2.0, 3.0];
        softmax(&mut v);
        let z: f32 = [1.0f32, 2.0, 3.0].iter().map(|x| x.exp()).sum();
        for (p, x) in v.iter().zip([1.0f32, 2.0, 3.0]) {
            assert!((p - x.exp() / z).abs() < 1e-6, "{v:?}");
        }
        assert_eq!(argmax(&v), 2);
        // Large logits must not overflow to NaN.
        let mut big = vec![1000.0f32, 1000.0];
        softmax(&mut big);
        assert_eq!(big, [0.5, 0.5]);
        assert_eq!(
            argmax(&[0.2, 0.4, 0.4]),
            1,
            "the first of equal values wins"
        );
    }
}
