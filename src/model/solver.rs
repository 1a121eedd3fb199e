//! Sparse multinomial logistic regression with the objective of
//! `linfa-logistic` 0.8.1's [`MultiLogisticRegression`], without ever
//! building a dense rows × features matrix.
//!
//! TF-IDF rows have a few dozen non-zeros among tens of thousands of
//! features; the dense trainer spends its time and memory on zeros. This
//! module minimises the same function with the same optimiser (argmin's
//! L-BFGS, memory 10, More–Thuente line search, gradient-norm tolerance,
//! iteration cap, zero start, result = argmin's best parameters), but
//! evaluates cost and gradient in O(nnz · k + features · k):
//!
//! ```text
//! J(W, b) = Σᵢ wᵢ · −log softmax(xᵢ W + b)[yᵢ]  +  α/2 · ‖W‖²     (b unpenalised)
//! ```
//!
//! With all row weights 1 this is `multi_logistic_loss` of linfa-logistic
//! (`-elem_dot(log_prob, Y) + 0.5 α elem_dot(W, W)`), and the gradient is its
//! `multi_logistic_grad` (`Xᵀ(P − Y) + αW` and `Σᵢ (P − Y)`). Parameters are
//! laid out as linfa lays them out: a (features + 1) × k matrix whose last
//! row holds the intercepts.
//!
//! One deliberate numerical difference: linfa's `log_sum_exp` subtracts the
//! largest score of the *whole* score matrix and clamps each row's sum at
//! 1e-15, which changes the loss of rows whose scores all lie far (≳ 35)
//! below that maximum; here each row subtracts its own maximum. In exact
//! arithmetic the two are the same function.
//!
//! Results are bit-identical from run to run whatever the number of rayon
//! threads: every number is computed by one task in a fixed order, and the
//! only sums across rows are done sequentially.
//!
//! [`MultiLogisticRegression`]: https://docs.rs/linfa-logistic/0.8.1/linfa_logistic/type.MultiLogisticRegression.html

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use argmin::core::{CostFunction, Executor, Gradient, State, TerminationReason, TerminationStatus};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use linfa::dataset::{AsSingleTargets, DatasetBase, Records};
use linfa::traits::{Fit, FitWith, PredictInplace};
use linfa::ParamGuard;
use ndarray::{Array1, Array2};
use rayon::prelude::*;

/// Why a fit could not start or could not finish. Running out of iterations
/// is not an error: see [`SparseLogisticModel::converged`].
#[derive(Debug, thiserror::Error)]
pub enum SolverError {
    /// Passed through so that [`SolverError`] can be the error type of
    /// linfa's `Fit` trait, which requires it.
    #[error(transparent)]
    Linfa(#[from] linfa::Error),
    /// The penalty must make the problem strictly convex (and the optimum
    /// unique), so zero is not allowed here although linfa allows it.
    #[error("alpha must be > 0, got {0}")]
    InvalidAlpha(f64),
    /// A fit must be allowed at least one step.
    #[error("max_iterations must be > 0, got 0")]
    InvalidMaxIterations,
    /// A zero or negative tolerance would never be met.
    #[error("gradient_tolerance must be > 0, got {0}")]
    InvalidGradientTolerance(f64),
    /// Nothing to learn from.
    #[error("the matrix has no rows")]
    NoRows,
    /// Nothing to learn with.
    #[error("the matrix has no feature columns")]
    NoFeatures,
    /// A softmax over one class is constant.
    #[error("need at least 2 classes, got {0}")]
    TooFewClasses(usize),
    /// Targets are class indices `0..classes`.
    #[error("row {row}: target {target} is out of range for {classes} classes")]
    TargetOutOfRange {
        /// Row of the offending target.
        row: usize,
        /// The target found.
        target: usize,
        /// The number of classes of the fit.
        classes: usize,
    },
    /// Targets and weights come one per row.
    #[error("{what}: expected {expected}, got {got}")]
    LengthMismatch {
        /// Which input is off.
        what: &'static str,
        /// Its expected length (the number of rows).
        expected: usize,
        /// Its length.
        got: usize,
    },
    /// A weight scales a row's loss; negative or non-finite ones make no sense.
    #[error("row {row}: weight must be finite and >= 0, got {weight}")]
    InvalidWeight {
        /// Row of the offending weight.
        row: usize,
        /// The weight found.
        weight: f64,
    },
    /// The sparse matrix could not be built as given.
    #[error("invalid sparse matrix: {0}")]
    InvalidMatrix(String),
    /// Initial parameters must be laid out as linfa's: (features + 1) × classes.
    #[error("initial parameters must be {expected_rows} × {expected_cols} (features + 1 × classes), got {rows} × {cols}")]
    InitialParamsShape {
        /// features + 1
        expected_rows: usize,
        /// classes
        expected_cols: usize,
        /// Rows given.
        rows: usize,
        /// Columns given.
        cols: usize,
    },
    /// A warm start from NaN or infinity goes nowhere.
    #[error("initial parameters must be finite")]
    NonFiniteInitialParams,
    /// The scores overflowed (features or weights far too large); the
    /// optimiser cannot recover from that.
    #[error("the cost became NaN or infinite; are the feature values or initial parameters far too large?")]
    NonFiniteCost,
    /// argmin gave up with an error of its own.
    #[error("optimiser failed: {0}")]
    Optimizer(String),
}

/// A row-compressed sparse matrix: the feature vectors as TF-IDF produces
/// them, so that no dense copy is ever needed.
///
/// Within a row, columns may come in any order; a repeated column counts as
/// the sum of its values (that is what every product with the matrix does).
#[derive(Debug, Clone, PartialEq)]
pub struct Csr {
    indptr: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<f64>,
    n_cols: usize,
}

impl Csr {
    /// Builds the matrix from its rows' (column, value) pairs, checking that
    /// columns are in range and values finite, so that a fit never has to.
    /// Values may be `f32` (as [`crate::features::TfIdf::transform`] gives
    /// them) or `f64`.
    pub fn from_rows<R, E, V>(n_cols: usize, rows: R) -> Result<Csr, SolverError>
    where
        R: IntoIterator<Item = E>,
        E: IntoIterator<Item = (u32, V)>,
        V: Into<f64>,
    {
        let mut indptr = vec![0];
        let mut indices = Vec::new();
        let mut values = Vec::new();
        for row in rows {
            for (column, value) in row {
                indices.push(column);
                values.push(value.into());
            }
            indptr.push(indices.len());
        }
        Csr::from_parts(n_cols, indptr, indices, values)
    }

    /// Takes compressed arrays that already exist (`indptr` has one entry
    /// per row plus one, starting at 0), after checking them as
    /// [`Csr::from_rows`] does.
    pub fn from_parts(
        n_cols: usize,
        indptr: Vec<usize>,
        indices: Vec<u32>,
        values: Vec<f64>,
    ) -> Result<Csr, SolverError> {
        let bad = |message: String| Err(SolverError::InvalidMatrix(message));
        if indptr.first() != Some(&0) {
            return bad("indptr must start with 0".into());
        }
        if indptr.windows(2).any(|w| w[0] > w[1]) {
            return bad("indptr must not decrease".into());
        }
        if indices.len() != values.len() || *indptr.last().unwrap() != indices.len() {
            return bad(format!(
                "indptr ends at {} but there are {} indices and {} values",
                indptr.last().unwrap(),
                indices.len(),
                values.len()
            ));
        }
        if let Some(&column) = indices.iter().find(|&&c| c as usize >= n_cols) {
            return bad(format!(
                "column {column} is out of range for {n_cols} columns"
            ));
        }
        if let Some(value) = values.iter().find(|v| !v.is_finite()) {
            return bad(format!("values must be finite, got {value}"));
        }
        Ok(Csr {
            indptr,
            indices,
            values,
            n_cols,
        })
    }

    /// Keeps the non-zeros of a dense matrix: for tests and for comparing
    /// with the dense trainer.
    pub fn from_dense(dense: &Array2<f64>) -> Result<Csr, SolverError> {
        Csr::from_rows(
            dense.ncols(),
            dense.rows().into_iter().map(|row| {
                row.into_iter()
                    .enumerate()
                    .filter(|(_, v)| **v != 0.0)
                    .map(|(j, v)| (j as u32, *v))
                    .collect::<Vec<_>>()
            }),
        )
    }

    /// Number of rows (samples).
    pub fn nrows(&self) -> usize {
        self.indptr.len() - 1
    }

    /// Number of columns (features).
    pub fn ncols(&self) -> usize {
        self.n_cols
    }

    /// Number of stored entries, which is what fitting time scales with.
    pub fn nnz(&self) -> usize {
        self.values.len()
    }

    /// The columns and values of row `i`.
    ///
    /// # Panics
    /// If `i >= self.nrows()`.
    pub fn row(&self, i: usize) -> (&[u32], &[f64]) {
        let range = self.indptr[i]..self.indptr[i + 1];
        (&self.indices[range.clone()], &self.values[range])
    }

    /// The transpose (columns as rows), so that `Xᵀ·D` can be computed one
    /// output row at a time, in parallel and without reductions. Within each
    /// column, rows keep increasing order.
    fn transpose(&self) -> Csr {
        let mut counts = vec![0usize; self.n_cols + 1];
        for &c in &self.indices {
            counts[c as usize + 1] += 1;
        }
        for j in 0..self.n_cols {
            counts[j + 1] += counts[j];
        }
        let indptr = counts.clone();
        let mut next = counts;
        let mut indices = vec![0u32; self.nnz()];
        let mut values = vec![0.0; self.nnz()];
        for i in 0..self.nrows() {
            let (cols, vals) = self.row(i);
            for (&c, &v) in cols.iter().zip(vals) {
                let at = &mut next[c as usize];
                indices[*at] = i as u32;
                values[*at] = v;
                *at += 1;
            }
        }
        Csr {
            indptr,
            indices,
            values,
            n_cols: self.nrows(),
        }
    }
}

/// Lets a [`Csr`] be the records of a linfa `DatasetBase`.
impl Records for Csr {
    type Elem = f64;

    fn nsamples(&self) -> usize {
        self.nrows()
    }

    fn nfeatures(&self) -> usize {
        self.ncols()
    }
}

/// Checked settings of a sparse fit; obtained from
/// [`SparseLogisticParams`] through linfa's [`ParamGuard::check`].
#[derive(Debug, Clone, PartialEq)]
pub struct SparseLogisticValidParams {
    alpha: f64,
    max_iterations: u64,
    gradient_tolerance: f64,
}

/// Settings of a sparse fit, with linfa-logistic's names and defaults
/// (alpha 1, 100 iterations, gradient tolerance 1e-4) so that switching
/// from the dense trainer changes nothing but speed.
///
/// ```
/// use linfa::ParamGuard;
/// use vektor::model::solver::SparseLogisticParams;
///
/// let err = SparseLogisticParams::default().alpha(-1.0).check().unwrap_err();
/// assert_eq!(err.to_string(), "alpha must be > 0, got -1");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SparseLogisticParams(SparseLogisticValidParams);

impl Default for SparseLogisticParams {
    fn default() -> Self {
        SparseLogisticParams::new()
    }
}

impl SparseLogisticParams {
    /// linfa-logistic's defaults.
    pub fn new() -> Self {
        SparseLogisticParams(SparseLogisticValidParams {
            alpha: 1.0,
            max_iterations: 100,
            gradient_tolerance: 1e-4,
        })
    }

    /// Strength of the L2 penalty `α/2 · ‖W‖²` against the *summed* (not
    /// averaged) loss, as in linfa: the same alpha regularises less as rows
    /// are added.
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.0.alpha = alpha;
        self
    }

    /// Cap on L-BFGS iterations; reaching it is reported, not an error.
    pub fn max_iterations(mut self, max_iterations: u64) -> Self {
        self.0.max_iterations = max_iterations;
        self
    }

    /// The fit stops once the gradient's Euclidean norm falls below this.
    pub fn gradient_tolerance(mut self, gradient_tolerance: f64) -> Self {
        self.0.gradient_tolerance = gradient_tolerance;
        self
    }
}

impl ParamGuard for SparseLogisticParams {
    type Checked = SparseLogisticValidParams;
    type Error = SolverError;

    fn check_ref(&self) -> Result<&SparseLogisticValidParams, SolverError> {
        let p = &self.0;
        if !(p.alpha.is_finite() && p.alpha > 0.0) {
            return Err(SolverError::InvalidAlpha(p.alpha));
        }
        if p.max_iterations == 0 {
            return Err(SolverError::InvalidMaxIterations);
        }
        if !(p.gradient_tolerance.is_finite() && p.gradient_tolerance > 0.0) {
            return Err(SolverError::InvalidGradientTolerance(p.gradient_tolerance));
        }
        Ok(p)
    }

    fn check(self) -> Result<SparseLogisticValidParams, SolverError> {
        self.check_ref()?;
        Ok(self.0)
    }
}

/// A fitted model plus how the fit ended, so that a caller can warn about
/// (and record) a fit that stopped before converging.
#[derive(Debug, Clone, PartialEq)]
pub struct SparseLogisticModel {
    /// Feature weights, features × classes.
    pub weights: Array2<f64>,
    /// One intercept per class.
    pub intercepts: Array1<f64>,
    /// L-BFGS iterations done.
    pub iterations: u64,
    /// Whether argmin's L-BFGS declared convergence (gradient norm below the
    /// tolerance, or a cost change below machine epsilon) rather than
    /// running out of iterations or failing its line search.
    pub converged: bool,
    /// argmin's reason for stopping, in its words: the detail behind
    /// `converged` for a log line.
    pub stop_reason: String,
}

impl SparseLogisticModel {
    /// Class probabilities, rows × classes: softmax of `x W + b`.
    ///
    /// # Panics
    /// If `x` has a different number of columns than the model has features.
    pub fn predict_proba(&self, x: &Csr) -> Array2<f64> {
        let (d, k) = self.weights.dim();
        assert_eq!(
            x.ncols(),
            d,
            "the matrix has {} columns but the model {} features",
            x.ncols(),
            d
        );
        let w = self.weights.as_standard_layout();
        let w = w.as_slice().unwrap();
        let b = self.intercepts.as_slice().unwrap();
        let mut probs = Array2::zeros((x.nrows(), k));
        let out = probs.as_slice_mut().unwrap();
        out.par_chunks_mut(ROW_CHUNK * k)
            .enumerate()
            .for_each(|(chunk, rows)| {
                for (r, p) in rows.chunks_mut(k).enumerate() {
                    scores(x, chunk * ROW_CHUNK + r, w, b, p);
                    let lse = log_sum_exp(p);
                    p.iter_mut().for_each(|z| *z = (*z - lse).exp());
                }
            });
        probs
    }

    /// The parameters in linfa's layout, (features + 1) × classes with the
    /// intercepts as last row: what [`SparseLogisticValidParams::fit_weighted`]
    /// takes to warm-start a neighbouring fit.
    pub fn params(&self) -> Array2<f64> {
        let (d, k) = self.weights.dim();
        let mut params = Array2::zeros((d + 1, k));
        params.slice_mut(ndarray::s![..d, ..]).assign(&self.weights);
        params.row_mut(d).assign(&self.intercepts);
        params
    }
}

/// Predicts the most probable class of each row (ties to the lowest), which
/// makes linfa's `Predict` available on a `DatasetBase<Csr, _>`.
impl PredictInplace<Csr, Array1<usize>> for SparseLogisticModel {
    fn predict_inplace(&self, x: &Csr, y: &mut Array1<usize>) {
        assert_eq!(x.nrows(), y.len(), "one target slot per row is needed");
        let probs = self.predict_proba(x);
        for (row, out) in probs.rows().into_iter().zip(y.iter_mut()) {
            let mut best = 0;
            for (c, &p) in row.iter().enumerate() {
                if p > row[best] {
                    best = c;
                }
            }
            *out = best;
        }
    }

    fn default_target(&self, x: &Csr) -> Array1<usize> {
        Array1::zeros(x.nrows())
    }
}

impl SparseLogisticValidParams {
    /// The L2 penalty strength.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// The iteration cap.
    pub fn max_iterations(&self) -> u64 {
        self.max_iterations
    }

    /// The gradient-norm tolerance.
    pub fn gradient_tolerance(&self) -> f64 {
        self.gradient_tolerance
    }

    /// Fits with everything explicit: the primitive behind the `Fit` and
    /// `FitWith` impls, for callers that want `f64` weights (linfa keeps
    /// `f32` ones), a class count that a subset of the data may not show,
    /// or a warm start from a neighbouring alpha.
    ///
    /// `y[i]` is the class of row `i`, in `0..n_classes`. `weights`, if
    /// given, scales each row's loss (e.g. `n / (k · n_class)` to balance
    /// classes; weight 2 is the same as the row appearing twice). `init`
    /// is a starting point in linfa's layout ((features + 1) × classes,
    /// intercepts last, see [`SparseLogisticModel::params`]); zeros
    /// otherwise, as in linfa.
    pub fn fit_weighted(
        &self,
        x: &Csr,
        y: &[usize],
        weights: Option<&[f64]>,
        n_classes: usize,
        init: Option<&Array2<f64>>,
    ) -> Result<SparseLogisticModel, SolverError> {
        let (n, d, k) = (x.nrows(), x.ncols(), n_classes);
        if n == 0 {
            return Err(SolverError::NoRows);
        }
        if d == 0 {
            return Err(SolverError::NoFeatures);
        }
        if n > u32::MAX as usize {
            return Err(SolverError::InvalidMatrix(format!(
                "{n} rows; at most {} are supported",
                u32::MAX
            )));
        }
        if k < 2 {
            return Err(SolverError::TooFewClasses(k));
        }
        if y.len() != n {
            return Err(SolverError::LengthMismatch {
                what: "targets (one per row)",
                expected: n,
                got: y.len(),
            });
        }
        if let Some((row, &target)) = y.iter().enumerate().find(|(_, &t)| t >= k) {
            return Err(SolverError::TargetOutOfRange {
                row,
                target,
                classes: k,
            });
        }
        if let Some(weights) = weights {
            if weights.len() != n {
                return Err(SolverError::LengthMismatch {
                    what: "weights (one per row)",
                    expected: n,
                    got: weights.len(),
                });
            }
            if let Some((row, &weight)) = weights
                .iter()
                .enumerate()
                .find(|(_, w)| !(w.is_finite() && **w >= 0.0))
            {
                return Err(SolverError::InvalidWeight { row, weight });
            }
        }
        let start = match init {
            Some(init) => {
                if init.dim() != (d + 1, k) {
                    return Err(SolverError::InitialParamsShape {
                        expected_rows: d + 1,
                        expected_cols: k,
                        rows: init.nrows(),
                        cols: init.ncols(),
                    });
                }
                if init.iter().any(|p| !p.is_finite()) {
                    return Err(SolverError::NonFiniteInitialParams);
                }
                Array1::from_iter(init.iter().copied())
            }
            None => Array1::zeros((d + 1) * k),
        };

        let non_finite = AtomicBool::new(false);
        let objective = Objective {
            data: Data {
                x,
                xt: x.transpose(),
                y,
                weights,
                k,
                alpha: self.alpha,
            },
            cache: Mutex::new(None),
            non_finite: &non_finite,
        };
        // linfa-logistic's `setup_solver` and `run_solver`, with our parameter type.
        let solver: LBFGS<MoreThuenteLineSearch<Param, Param, f64>, Param, Param, f64> =
            LBFGS::new(MoreThuenteLineSearch::new(), 10)
                .with_tolerance_grad(self.gradient_tolerance)
                .map_err(|e| SolverError::Optimizer(e.to_string()))?;
        let result = Executor::new(objective, solver)
            .configure(|state| state.param(start.clone()).max_iters(self.max_iterations))
            .run();
        if non_finite.load(Ordering::Relaxed) {
            return Err(SolverError::NonFiniteCost);
        }
        let mut result = result.map_err(|e| SolverError::Optimizer(e.to_string()))?;
        let state = &mut result.state;
        let (converged, stop_reason) = match &state.termination_status {
            TerminationStatus::Terminated(TerminationReason::SolverConverged) => {
                (true, TerminationReason::SolverConverged.text().to_string())
            }
            TerminationStatus::Terminated(TerminationReason::SolverExit(why)) => {
                (false, why.clone())
            }
            TerminationStatus::Terminated(reason) => (false, reason.text().to_string()),
            TerminationStatus::NotTerminated => (false, "not terminated".to_string()),
        };
        let iterations = state.get_iter();
        // As linfa: the best parameters seen, else the start.
        let params = state.take_best_param().unwrap_or(start);
        let params = params.as_slice().unwrap();
        Ok(SparseLogisticModel {
            weights: Array2::from_shape_vec((d, k), params[..d * k].to_vec()).unwrap(),
            intercepts: Array1::from_vec(params[d * k..].to_vec()),
            iterations,
            converged,
            stop_reason,
        })
    }
}

/// Fits on a linfa dataset: classes are `0..=max(target)`, the start is
/// zeros, and the dataset's (`f32`) weights are used if it has any.
///
/// ```
/// use linfa::prelude::*;
/// use ndarray::array;
/// use vektor::model::solver::{Csr, SparseLogisticParams};
///
/// let x = Csr::from_rows(3, [
///     vec![(0u32, 1.0)],
///     vec![(1, 1.0)],
///     vec![(2, 1.0)],
///     vec![(0, 0.5), (1, 0.5)],
/// ])?;
/// let data = DatasetBase::new(x, array![0usize, 1, 2, 0])
///     .with_weights(array![1.0f32, 1.0, 1.0, 2.0]);
/// let model = SparseLogisticParams::default().alpha(0.1).fit(&data)?;
/// assert!(model.converged);
/// let predicted: ndarray::Array1<usize> = model.predict(&data);
/// assert_eq!(predicted, array![0, 1, 2, 0]);
/// # Ok::<(), vektor::model::solver::SolverError>(())
/// ```
impl<T: AsSingleTargets<Elem = usize>> Fit<Csr, T, SolverError> for SparseLogisticValidParams {
    type Object = SparseLogisticModel;

    fn fit(&self, dataset: &DatasetBase<Csr, T>) -> Result<SparseLogisticModel, SolverError> {
        let y: Vec<usize> = dataset
            .targets()
            .as_single_targets()
            .iter()
            .copied()
            .collect();
        let k = y.iter().max().map_or(0, |&m| m + 1);
        let weights = dataset_weights(dataset);
        self.fit_weighted(dataset.records(), &y, weights.as_deref(), k, None)
    }
}

/// Warm start the linfa way: fitting "with" a neighbouring model starts from
/// its parameters (and keeps its number of classes).
impl<'a, T: AsSingleTargets<Elem = usize> + 'a> FitWith<'a, Csr, T, SolverError>
    for SparseLogisticValidParams
{
    type ObjectIn = Option<&'a SparseLogisticModel>;
    type ObjectOut = SparseLogisticModel;

    fn fit_with(
        &self,
        model: Option<&'a SparseLogisticModel>,
        dataset: &'a DatasetBase<Csr, T>,
    ) -> Result<SparseLogisticModel, SolverError> {
        let Some(model) = model else {
            return self.fit(dataset);
        };
        let y: Vec<usize> = dataset
            .targets()
            .as_single_targets()
            .iter()
            .copied()
            .collect();
        let weights = dataset_weights(dataset);
        let init = model.params();
        let k = init.ncols();
        self.fit_weighted(dataset.records(), &y, weights.as_deref(), k, Some(&init))
    }
}

fn dataset_weights<T>(dataset: &DatasetBase<Csr, T>) -> Option<Vec<f64>> {
    dataset
        .weights()
        .map(|w| w.iter().map(|&v| f64::from(v)).collect())
}

/// Rows per parallel task of the row pass; features per task of the
/// gradient pass. Fixed sizes keep the work split independent of the pool.
const ROW_CHUNK: usize = 256;
const FEATURE_CHUNK: usize = 256;

/// argmin's parameter and gradient type: the flattened (features + 1) × k
/// matrix, row-major, as linfa's `Array2` is laid out.
type Param = Array1<f64>;

/// Writes the scores `x_i W + b` of row `i` into `z` (sum over the row's
/// entries first, then the intercept, as linfa's `x.dot(W) + b`).
fn scores(x: &Csr, i: usize, w: &[f64], b: &[f64], z: &mut [f64]) {
    let k = z.len();
    z.fill(0.0);
    let (cols, vals) = x.row(i);
    for (&j, &v) in cols.iter().zip(vals) {
        let wj = &w[j as usize * k..(j as usize + 1) * k];
        for (zc, &wc) in z.iter_mut().zip(wj) {
            *zc += v * wc;
        }
    }
    for (zc, &bc) in z.iter_mut().zip(b) {
        *zc += bc;
    }
}

/// `log Σ exp(z)`, shifted by the row's maximum for stability.
fn log_sum_exp(z: &[f64]) -> f64 {
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = z.iter().map(|&zc| (zc - max).exp()).sum();
    max + sum.ln()
}

/// The fixed inputs of the objective.
struct Data<'a> {
    x: &'a Csr,
    xt: Csr,
    y: &'a [usize],
    weights: Option<&'a [f64]>,
    k: usize,
    alpha: f64,
}

impl Data<'_> {
    /// Cost and gradient at `params` (flattened, linfa layout) in one pass
    /// over the rows and one over the features.
    fn cost_and_gradient(&self, params: &[f64]) -> (f64, Vec<f64>) {
        let (n, d, k) = (self.x.nrows(), self.x.ncols(), self.k);
        let (w, b) = params.split_at(d * k);

        // Row pass: per-row loss and (weighted) P − Y.
        let mut diff = vec![0.0; n * k];
        let mut loss = vec![0.0; n];
        diff.par_chunks_mut(ROW_CHUNK * k)
            .zip(loss.par_chunks_mut(ROW_CHUNK))
            .enumerate()
            .for_each(|(chunk, (diff, loss))| {
                for (r, (dr, lr)) in diff.chunks_mut(k).zip(loss.iter_mut()).enumerate() {
                    let i = chunk * ROW_CHUNK + r;
                    scores(self.x, i, w, b, dr);
                    let lse = log_sum_exp(dr);
                    let weight = self.weights.map_or(1.0, |ws| ws[i]);
                    let target = self.y[i];
                    *lr = -(weight * (dr[target] - lse));
                    for (c, dc) in dr.iter_mut().enumerate() {
                        let p = (*dc - lse).exp();
                        *dc = weight * (p - if c == target { 1.0 } else { 0.0 });
                    }
                }
            });
        let penalty: f64 = w.iter().map(|v| v * v).sum();
        let cost = loss.iter().sum::<f64>() + 0.5 * self.alpha * penalty;

        // Feature pass: Xᵀ(P − Y) + αW, one feature's row per step.
        let mut grad = vec![0.0; (d + 1) * k];
        let (gw, gb) = grad.split_at_mut(d * k);
        gw.par_chunks_mut(FEATURE_CHUNK * k)
            .enumerate()
            .for_each(|(chunk, g)| {
                for (r, gj) in g.chunks_mut(k).enumerate() {
                    let j = chunk * FEATURE_CHUNK + r;
                    let (rows, vals) = self.xt.row(j);
                    for (&i, &v) in rows.iter().zip(vals) {
                        let di = &diff[i as usize * k..(i as usize + 1) * k];
                        for (gc, &dc) in gj.iter_mut().zip(di) {
                            *gc += v * dc;
                        }
                    }
                    for (gc, &wc) in gj.iter_mut().zip(&w[j * k..(j + 1) * k]) {
                        *gc += self.alpha * wc;
                    }
                }
            });
        for di in diff.chunks(k) {
            for (gc, &dc) in gb.iter_mut().zip(di) {
                *gc += dc;
            }
        }
        (cost, grad)
    }
}

/// What argmin optimises. The line search asks for the cost and then the
/// gradient at the same point, and L-BFGS asks again for the gradient at
/// the point the line search chose; both come from one evaluation, kept
/// for the last point asked about.
struct Objective<'a> {
    data: Data<'a>,
    cache: Mutex<Option<(Param, f64, Param)>>,
    non_finite: &'a AtomicBool,
}

impl Objective<'_> {
    fn evaluate(&self, params: &Param) -> Result<(f64, Param), argmin::core::Error> {
        let mut cache = self.cache.lock().unwrap();
        if let Some((at, cost, grad)) = cache.as_ref() {
            if at == params {
                return Ok((*cost, grad.clone()));
            }
        }
        let (cost, grad) = self.data.cost_and_gradient(params.as_slice().unwrap());
        if !cost.is_finite() || grad.iter().any(|g| !g.is_finite()) {
            // argmin turns errors inside the line search into a plain stop;
            // the flag lets `fit_weighted` report them as what they are.
            self.non_finite.store(true, Ordering::Relaxed);
            return Err(argmin::core::Error::msg(
                SolverError::NonFiniteCost.to_string(),
            ));
        }
        let grad = Array1::from_vec(grad);
        *cache = Some((params.clone(), cost, grad.clone()));
        Ok((cost, grad))
    }
}

impl CostFunction for Objective<'_> {
    type Param = Param;
    type Output = f64;

    fn cost(&self, params: &Param) -> Result<f64, argmin::core::Error> {
        Ok(self.evaluate(params)?.0)
    }
}

impl Gradient for Objective<'_> {
    type Param = Param;
    type Gradient = Param;

    fn gradient(&self, params: &Param) -> Result<Param, argmin::core::Error> {
        Ok(self.evaluate(params)?.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linfa::prelude::*;
    use linfa_logistic::MultiLogisticRegression;

    /// splitmix64: a deterministic stream of test numbers.
    struct Rng(u64);

    impl Rng {
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        /// Uniform in [0, 1).
        fn uniform(&mut self) -> f64 {
            (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// A dense problem with ~20% non-zeros whose classes depend on the
    /// features through a hidden linear rule plus noise (learnable, not
    /// separable), with every class present.
    fn problem(n: usize, d: usize, k: usize, seed: u64) -> (Array2<f64>, Vec<usize>) {
        let mut rng = Rng(seed);
        let truth = Array2::from_shape_fn((d, k), |_| rng.uniform() * 4.0 - 2.0);
        let x = Array2::from_shape_fn((n, d), |_| {
            if rng.uniform() < 0.2 {
                rng.uniform() * 2.0
            } else {
                0.0
            }
        });
        let y: Vec<usize> = (0..n)
            .map(|i| {
                if i < k {
                    return i;
                }
                let s = x.row(i).dot(&truth);
                let noisy: Vec<f64> = s.iter().map(|v| v + rng.uniform() * 3.0).collect();
                (0..k)
                    .max_by(|&a, &b| noisy[a].total_cmp(&noisy[b]))
                    .unwrap()
            })
            .collect();
        (x, y)
    }

    /// linfa-logistic's objective, written out densely:
    /// `-Σ Y ∘ log softmax(X W + b) + α/2 ‖W‖²`, with optional row weights.
    fn dense_objective(
        x: &Array2<f64>,
        y: &[usize],
        weights: Option<&[f64]>,
        alpha: f64,
        params: &Array2<f64>,
    ) -> f64 {
        let d = x.ncols();
        let w = params.slice(ndarray::s![..d, ..]);
        let h = x.dot(&w) + params.row(d);
        let mut loss = 0.0;
        for (i, row) in h.rows().into_iter().enumerate() {
            let lse = log_sum_exp(row.as_slice().unwrap());
            loss -= weights.map_or(1.0, |ws| ws[i]) * (row[y[i]] - lse);
        }
        loss + 0.5 * alpha * w.iter().map(|v| v * v).sum::<f64>()
    }

    fn params(alpha: f64) -> SparseLogisticValidParams {
        SparseLogisticParams::default()
            .alpha(alpha)
            .max_iterations(1000)
            .gradient_tolerance(1e-8)
            .check()
            .unwrap()
    }

    #[test]
    fn matches_linfa_logistic() {
        let (dense, y) = problem(200, 30, 3, 7);
        let csr = Csr::from_dense(&dense).unwrap();
        let density = csr.nnz() as f64 / (200.0 * 30.0);
        assert!((0.15..0.25).contains(&density), "density {density}");
        for alpha in [0.1, 1.0, 10.0] {
            let linfa = MultiLogisticRegression::default()
                .alpha(alpha)
                .max_iterations(500)
                .gradient_tolerance(1e-4)
                .fit(&Dataset::new(dense.clone(), Array1::from(y.clone())))
                .unwrap();
            let ours = SparseLogisticParams::default()
                .alpha(alpha)
                .max_iterations(500)
                .gradient_tolerance(1e-4)
                .check()
                .unwrap()
                .fit_weighted(&csr, &y, None, 3, None)
                .unwrap();
            assert!(ours.converged, "alpha {alpha}: {}", ours.stop_reason);

            let theirs = linfa.predict_probabilities(&dense);
            let mine = ours.predict_proba(&csr);
            let worst = (&theirs - &mine)
                .mapv(f64::abs)
                .fold(0.0, |a: f64, &b| a.max(b));
            assert!(
                worst < 1e-3,
                "alpha {alpha}: probabilities differ by {worst}"
            );
            let classes: Array1<usize> = linfa.predict(&dense);
            let predicted: Array1<usize> =
                ours.predict(&DatasetBase::new(csr.clone(), Array1::<usize>::zeros(0)));
            assert_eq!(classes, predicted, "alpha {alpha}");

            // Same objective: both optima score the same under linfa's formula.
            let mut linfa_params = Array2::zeros((31, 3));
            linfa_params
                .slice_mut(ndarray::s![..30, ..])
                .assign(linfa.params());
            linfa_params.row_mut(30).assign(linfa.intercept());
            let j_linfa = dense_objective(&dense, &y, None, alpha, &linfa_params);
            let j_ours = dense_objective(&dense, &y, None, alpha, &ours.params());
            assert!(
                (j_linfa - j_ours).abs() < 1e-6 * j_linfa,
                "alpha {alpha}: {j_linfa} vs {j_ours}"
            );
        }
    }

    #[test]
    fn cost_matches_dense_objective_and_gradient_matches_finite_differences() {
        let (dense, y) = problem(120, 30, 4, 11);
        let csr = Csr::from_dense(&dense).unwrap();
        let mut rng = Rng(3);
        let weights: Vec<f64> = (0..120).map(|_| 0.2 + rng.uniform() * 2.0).collect();
        let data = Data {
            x: &csr,
            xt: csr.transpose(),
            y: &y,
            weights: Some(&weights),
            k: 4,
            alpha: 0.7,
        };
        let p: Vec<f64> = (0..31 * 4).map(|_| rng.uniform() - 0.5).collect();
        let (cost, grad) = data.cost_and_gradient(&p);
        let as_matrix = Array2::from_shape_vec((31, 4), p.clone()).unwrap();
        let reference = dense_objective(&dense, &y, Some(&weights), 0.7, &as_matrix);
        assert!(
            (cost - reference).abs() < 1e-10 * reference,
            "{cost} vs {reference}"
        );

        let h = 1e-5;
        for i in 0..p.len() {
            let mut up = p.clone();
            up[i] += h;
            let mut down = p.clone();
            down[i] -= h;
            let fd = (data.cost_and_gradient(&up).0 - data.cost_and_gradient(&down).0) / (2.0 * h);
            assert!(
                (fd - grad[i]).abs() < 1e-6 * grad[i].abs().max(1.0),
                "coordinate {i}: analytic {} vs numeric {fd}",
                grad[i]
            );
        }
    }

    fn max_abs_diff(a: &SparseLogisticModel, b: &SparseLogisticModel) -> f64 {
        (&a.params() - &b.params())
            .mapv(f64::abs)
            .fold(0.0, |m: f64, &v| m.max(v))
    }

    #[test]
    fn weight_two_equals_a_repeated_row() {
        let (dense, y) = problem(90, 30, 3, 5);
        let csr = Csr::from_dense(&dense).unwrap();
        let weights: Vec<f64> = (0..90)
            .map(|i| if i % 3 == 0 { 2.0 } else { 1.0 })
            .collect();
        let weighted = params(0.5)
            .fit_weighted(&csr, &y, Some(&weights), 3, None)
            .unwrap();

        let mut rows = Vec::new();
        let mut repeated_y = Vec::new();
        for i in 0..90 {
            for _ in 0..weights[i] as usize {
                let (cols, vals) = csr.row(i);
                rows.push(
                    cols.iter()
                        .copied()
                        .zip(vals.iter().copied())
                        .collect::<Vec<_>>(),
                );
                repeated_y.push(y[i]);
            }
        }
        let repeated = Csr::from_rows(30, rows).unwrap();
        assert_eq!(repeated.nrows(), 120);
        let plain = params(0.5)
            .fit_weighted(&repeated, &repeated_y, None, 3, None)
            .unwrap();
        let diff = max_abs_diff(&weighted, &plain);
        assert!(diff < 1e-5, "parameters differ by {diff}");
    }

    #[test]
    fn uniform_weight_two_with_double_alpha_is_the_unweighted_optimum() {
        let (dense, y) = problem(100, 30, 3, 9);
        let csr = Csr::from_dense(&dense).unwrap();
        let plain = params(0.8).fit_weighted(&csr, &y, None, 3, None).unwrap();
        let twos = vec![2.0; 100];
        let scaled = params(1.6)
            .fit_weighted(&csr, &y, Some(&twos), 3, None)
            .unwrap();
        let diff = max_abs_diff(&plain, &scaled);
        assert!(diff < 1e-5, "parameters differ by {diff}");
    }

    #[test]
    fn fit_trait_uses_dataset_weights() {
        let (dense, y) = problem(100, 30, 3, 13);
        let csr = Csr::from_dense(&dense).unwrap();
        let weights: Vec<f64> = (0..100).map(|i| 0.5 + (i % 4) as f64 * 0.25).collect();
        let direct = params(0.3)
            .fit_weighted(&csr, &y, Some(&weights), 3, None)
            .unwrap();
        let dataset = DatasetBase::new(csr, Array1::from(y))
            .with_weights(weights.iter().map(|&w| w as f32).collect());
        let through_linfa = SparseLogisticParams::default()
            .alpha(0.3)
            .max_iterations(1000)
            .gradient_tolerance(1e-8)
            .fit(&dataset)
            .unwrap();
        // The weights above are exact in f32, so the fits are the same.
        assert_eq!(direct, through_linfa);
    }

    #[test]
    fn warm_start_from_a_neighbour_reaches_the_same_optimum_sooner() {
        let (dense, y) = problem(200, 30, 3, 17);
        let csr = Csr::from_dense(&dense).unwrap();
        let neighbour = params(1.0).fit_weighted(&csr, &y, None, 3, None).unwrap();
        let cold = params(1.2).fit_weighted(&csr, &y, None, 3, None).unwrap();
        let dataset = DatasetBase::new(csr, Array1::from(y));
        let warm = params(1.2).fit_with(Some(&neighbour), &dataset).unwrap();
        assert!(warm.converged && cold.converged);
        assert!(
            warm.iterations < cold.iterations,
            "{} vs {}",
            warm.iterations,
            cold.iterations
        );
        let diff = max_abs_diff(&warm, &cold);
        assert!(diff < 1e-5, "parameters differ by {diff}");
    }

    #[test]
    fn iteration_cap_is_reported_not_an_error() {
        let (dense, y) = problem(200, 30, 3, 19);
        let csr = Csr::from_dense(&dense).unwrap();
        let model = SparseLogisticParams::default()
            .alpha(0.01)
            .max_iterations(3)
            .gradient_tolerance(1e-12)
            .check()
            .unwrap()
            .fit_weighted(&csr, &y, None, 3, None)
            .unwrap();
        assert!(!model.converged);
        assert_eq!(model.iterations, 3);
        assert!(
            model.stop_reason.contains("aximum"),
            "{}",
            model.stop_reason
        );
    }

    #[test]
    fn fits_are_bit_identical_across_runs_and_thread_counts() {
        let (dense, y) = problem(700, 30, 4, 23);
        let csr = Csr::from_dense(&dense).unwrap();
        let fit = || params(0.2).fit_weighted(&csr, &y, None, 4, None).unwrap();
        let first = fit();
        let second = fit();
        let single = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(fit);
        let bits =
            |m: &SparseLogisticModel| m.params().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&first), bits(&second));
        assert_eq!(bits(&first), bits(&single));
        assert_eq!(first.iterations, single.iterations);
    }

    #[test]
    fn bad_settings_are_refused_with_clear_messages() {
        let message = |p: SparseLogisticParams| p.check().unwrap_err().to_string();
        let p = SparseLogisticParams::default;
        assert_eq!(message(p().alpha(-1.0)), "alpha must be > 0, got -1");
        assert_eq!(message(p().alpha(0.0)), "alpha must be > 0, got 0");
        assert_eq!(message(p().alpha(f64::NAN)), "alpha must be > 0, got NaN");
        assert_eq!(
            message(p().alpha(f64::INFINITY)),
            "alpha must be > 0, got inf"
        );
        assert_eq!(
            message(p().max_iterations(0)),
            "max_iterations must be > 0, got 0"
        );
        assert_eq!(
            message(p().gradient_tolerance(0.0)),
            "gradient_tolerance must be > 0, got 0"
        );
        // The Fit impl on the unchecked params checks them too.
        let data = DatasetBase::new(
            Csr::from_rows(1, [vec![(0u32, 1.0)], vec![]]).unwrap(),
            Array1::from(vec![0usize, 1]),
        );
        assert!(matches!(
            p().alpha(-1.0).fit(&data),
            Err(SolverError::InvalidAlpha(_))
        ));
    }

    #[test]
    fn bad_inputs_are_refused_with_clear_messages() {
        let x = Csr::from_rows(2, [vec![(0u32, 1.0)], vec![(1, 1.0)], vec![]]).unwrap();
        let p = params(1.0);
        let err = |r: Result<SparseLogisticModel, SolverError>| r.unwrap_err().to_string();

        assert_eq!(
            err(p.fit_weighted(&x, &[0, 1, 1], Some(&[1.0, 2.0]), 2, None)),
            "weights (one per row): expected 3, got 2"
        );
        assert_eq!(
            err(p.fit_weighted(&x, &[0, 1], None, 2, None)),
            "targets (one per row): expected 3, got 2"
        );
        assert_eq!(
            err(p.fit_weighted(&x, &[0, 2, 1], None, 2, None)),
            "row 1: target 2 is out of range for 2 classes"
        );
        assert_eq!(
            err(p.fit_weighted(&x, &[0, 0, 0], None, 1, None)),
            "need at least 2 classes, got 1"
        );
        assert_eq!(
            err(p.fit_weighted(&x, &[0, 1, 1], Some(&[1.0, -1.0, 1.0]), 2, None)),
            "row 1: weight must be finite and >= 0, got -1"
        );
        assert!(matches!(
            p.fit_weighted(&x, &[0, 1, 1], Some(&[1.0, f64::NAN, 1.0]), 2, None),
            Err(SolverError::InvalidWeight { row: 1, .. })
        ));
        let empty = Csr::from_rows(2, Vec::<Vec<(u32, f64)>>::new()).unwrap();
        assert_eq!(
            err(p.fit_weighted(&empty, &[], None, 2, None)),
            "the matrix has no rows"
        );
        let featureless = Csr::from_rows(0, [Vec::<(u32, f64)>::new()]).unwrap();
        assert_eq!(
            err(p.fit_weighted(&featureless, &[0], None, 2, None)),
            "the matrix has no feature columns"
        );
        assert!(matches!(
            p.fit_weighted(&x, &[0, 1, 1], None, 2, Some(&Array2::zeros((2, 2)))),
            Err(SolverError::InitialParamsShape {
                expected_rows: 3,
                ..
            })
        ));
        // One class in the data: Fit infers a single class.
        let one_class = DatasetBase::new(x.clone(), Array1::from(vec![0usize, 0, 0]));
        assert!(matches!(
            p.fit(&one_class),
            Err(SolverError::TooFewClasses(1))
        ));

        assert_eq!(
            Csr::from_rows(2, [vec![(2u32, 1.0)]])
                .unwrap_err()
                .to_string(),
            "invalid sparse matrix: column 2 is out of range for 2 columns"
        );
        assert!(Csr::from_rows(2, [vec![(0u32, f64::NAN)]]).is_err());
        assert!(Csr::from_parts(2, vec![0, 2], vec![0], vec![1.0]).is_err());
    }

    #[test]
    fn overflowing_scores_are_an_error() {
        let x = Csr::from_rows(2, [vec![(0u32, 1e300)], vec![(1, 1e300)]]).unwrap();
        let init = Array2::from_elem((3, 2), 1e300);
        assert!(matches!(
            params(1.0).fit_weighted(&x, &[0, 1], None, 2, Some(&init)),
            Err(SolverError::NonFiniteCost)
        ));
    }

    #[test]
    fn f32_rows_and_duplicate_columns_are_accepted() {
        let x = Csr::from_rows(3, [vec![(2u32, 0.5f32), (0, 0.25), (2, 0.5)]]).unwrap();
        assert_eq!(x.nrows(), 1);
        let model = SparseLogisticModel {
            weights: Array2::from_shape_vec((3, 2), vec![0.0, 0.0, 0.0, 0.0, 1.0, 0.0]).unwrap(),
            intercepts: Array1::zeros(2),
            iterations: 0,
            converged: true,
            stop_reason: String::new(),
        };
        // Score of class 0 is 0.5 + 0.5 = 1 (duplicates add), class 1 is 0.
        let p = model.predict_proba(&x);
        let expected = 1.0 / (1.0 + (-1.0f64).exp());
        assert!((p[(0, 0)] - expected).abs() < 1e-15);
    }

    /// Timing on a TF-IDF-sized problem; run with
    /// `cargo test --release --lib solver::tests::timing -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn timing_16k_rows_20k_features() {
        let (n, d, k, per_row) = (16_000, 20_000, 9, 60);
        let mut rng = Rng(42);
        let mut rows = Vec::with_capacity(n);
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let class = rng.below(k);
            // A third of each row's terms come from its class's vocabulary.
            let mut row: Vec<(u32, f64)> = (0..per_row)
                .map(|t| {
                    let j = if t % 3 == 0 {
                        class * (d / k) + rng.below(d / k)
                    } else {
                        rng.below(d)
                    };
                    (j as u32, 0.5 + rng.uniform())
                })
                .collect();
            let norm = row.iter().map(|(_, v)| v * v).sum::<f64>().sqrt();
            row.iter_mut().for_each(|(_, v)| *v /= norm);
            rows.push(row);
            y.push(class);
        }
        let x = Csr::from_rows(d, rows).unwrap();
        let start = std::time::Instant::now();
        let model = SparseLogisticParams::default()
            .alpha(0.3)
            .max_iterations(200)
            .check()
            .unwrap()
            .fit_weighted(&x, &y, None, k, None)
            .unwrap();
        let elapsed = start.elapsed();
        let predicted: Array1<usize> = model.predict(&DatasetBase::new(x, Array1::from(y.clone())));
        let accuracy = predicted.iter().zip(&y).filter(|(a, b)| a == b).count() as f64 / n as f64;
        println!(
            "fit {n}×{d}, {per_row} nnz/row, k={k}: {:.2?}, {} iterations, converged {} ({}), \
             training accuracy {accuracy:.3}, {} threads",
            elapsed,
            model.iterations,
            model.converged,
            model.stop_reason,
            rayon::current_num_threads()
        );
    }
}
