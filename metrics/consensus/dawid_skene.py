"""Dawid-Skene: consensus and annotator confusion matrices by expectation-maximisation, without gold."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

from metrics._frame import Coded, _count_matrix
from metrics.consensus._base import CategoricalAggregator, _coded, _frame_of, _pick

#: Floor for probabilities before taking logs: log(0) would make one vote veto a class forever.
_EPS = np.finfo(np.float64).eps


class DawidSkene(CategoricalAggregator):
    r"""Dawid-Skene model fitted by EM in log space.

    Each task has a hidden true label :math:`z_t` with prior :math:`\pi_k`; annotator :math:`w`
    answers :math:`l` with probability :math:`\theta^w_{kl}` when the truth is :math:`k` (a full
    confusion matrix per annotator). EM alternates

    * E-step: :math:`\log P(z_t = k) = \log \pi_k + \sum_{(w,l) \in t} \log \theta^w_{kl} + c_t`,
      normalised with a log-sum-exp so thousands of votes cannot underflow;
    * M-step: :math:`\pi_k` = mean posterior, :math:`\theta^w_{kl} \propto \alpha_{kl} + \sum_{t:
      w \text{ said } l} P(z_t = k)`, where :math:`\alpha` is an optional Dirichlet pseudo-count
      (``smoothing`` on every cell plus ``diagonal_smoothing`` on the correct answer).

    EM starts from the majority-vote shares (ties split evenly) and stops when the mean per-task
    log-likelihood improves by less than ``tol`` or after ``n_iter`` iterations.

    With the default ``smoothing=0`` and ``diagonal_smoothing=0`` this is the original model and
    crowd-kit's ``DawidSkene``; zero cells are floored at machine epsilon before the log. Measured on
    the four gold datasets in ``shared/datasets`` (rte, temp, wsd, bluebirds), plain DS matches or
    beats crowd-kit 1.4.2 (bluebirds +0.009). Dirichlet smoothing (0.1-1 per cell, or 1-2 on the
    diagonal) moved accuracy by at most one or two tasks either way and one-coin DS lost 0.31 on
    bluebirds, so neither is the default; smoothing stays available for projects whose annotators
    label only a handful of tasks each, where a 0/1 confusion row would let one vote decide a task.

    Parameters
    ----------
    n_iter : maximum number of EM iterations (default 100).
    tol : stop when the mean log-likelihood per task changes by less than this (default 1e-7).
    smoothing : Dirichlet pseudo-count added to every confusion cell (default 0).
    diagonal_smoothing : extra pseudo-count on the diagonal, i.e. on answering correctly (default 0).

    Attributes
    ----------
    labels_ : Series task -> label (NaN when the posterior ties exactly).
    probas_ : DataFrame tasks x labels, posterior P(z_t = k).
    priors_ : Series label -> prior.
    errors_ : DataFrame indexed by (annotator, label given), columns the true label:
        P(annotator says row label | truth = column label); each column sums to 1 per annotator.
    skills_ : Series annotator -> estimated accuracy ``sum_k pi_k theta^w_kk`` (no gold needed).
    loglik_ : final mean log-likelihood per task; ``n_iter_`` iterations run.

    References
    ----------
    .. [1] Dawid, A. P. & Skene, A. M. (1979). Maximum likelihood estimation of observer error-rates
       using the EM algorithm. JRSS C 28(1), 20-28. doi:10.2307/2346806
    .. [2] Ustalov, D. et al. (2024). Learning from crowds with Crowd-Kit. JOSS 9(96), 6227.
       doi:10.21105/joss.06227

    Examples
    --------
    >>> frame = pd.DataFrame({"task": [1, 1, 1, 2, 2, 2], "annotator": list("abcabc"),
    ...                       "label": ["y", "y", "n", "n", "n", "n"]})
    >>> DawidSkene().fit_predict(frame).tolist()
    ['y', 'n']
    """

    def __init__(
        self,
        *,
        n_iter: int = 100,
        tol: float = 1e-7,
        smoothing: float = 0.0,
        diagonal_smoothing: float = 0.0,
    ) -> None:
        if n_iter < 0:
            raise ValueError(f"n_iter must be >= 0, got {n_iter}")
        if smoothing < 0 or diagonal_smoothing < 0:
            raise ValueError(f"smoothing must be >= 0, got {smoothing}, {diagonal_smoothing}")
        self.n_iter = n_iter
        self.tol = tol
        self.smoothing = smoothing
        self.diagonal_smoothing = diagonal_smoothing

    # -- the two EM steps, on a sparse (annotator, label) x task incidence matrix -----------------
    @staticmethod
    def _incidence(coded: Coded) -> sparse.csr_matrix:
        """``S[(annotator, label), task]`` = 1 when the annotator gave that label to the task; both EM
        steps are then one sparse product each (no Python loop, no per-row gathers)."""
        q = coded.n_labels
        n_cells = len(coded.annotators) * q
        return sparse.csr_matrix(
            (np.ones(len(coded.task)), (coded.annotator * q + coded.label, coded.task)), shape=(n_cells, coded.n_tasks)
        )

    def _m_step(self, votes: sparse.csr_matrix, posterior: np.ndarray, q: int) -> tuple[np.ndarray, np.ndarray]:
        # counts[annotator, given, truth] = expected number of tasks with that truth the annotator labelled "given"
        counts = np.asarray(votes @ posterior).reshape(-1, q, q)
        counts += self.smoothing + self.diagonal_smoothing * np.eye(q)[None, :, :]
        totals = counts.sum(axis=1, keepdims=True)
        errors = np.divide(counts, totals, out=np.full_like(counts, 1.0 / q), where=totals > 0)
        return np.clip(posterior.mean(axis=0), _EPS, None), np.clip(errors, _EPS, None)

    @staticmethod
    def _e_step(votes_t: sparse.csr_matrix, priors: np.ndarray, errors: np.ndarray) -> tuple[np.ndarray, float]:
        q = len(priors)
        log_post = np.asarray(votes_t @ np.log(errors).reshape(-1, q)) + np.log(priors)[None, :]
        top = log_post.max(axis=1, keepdims=True)  # log-sum-exp: shift before exp to avoid underflow
        log_norm = top + np.log(np.exp(log_post - top).sum(axis=1, keepdims=True))
        return np.exp(log_post - log_norm), float(log_norm.mean())

    def fit(self, df: pd.DataFrame) -> "DawidSkene":
        """Fit on a long frame (task, annotator, label); returns ``self``."""
        coded = _coded(df)
        q = coded.n_labels
        counts = _count_matrix(coded)
        posterior = counts / counts.sum(axis=1, keepdims=True) if coded.n_tasks else counts  # majority-vote start
        priors = posterior.mean(axis=0) if coded.n_tasks else np.zeros(q)
        errors = np.zeros((len(coded.annotators), q, q))
        loglik = -np.inf
        self.n_iter_ = 0
        if coded.n_tasks:
            votes = self._incidence(coded)
            votes_t = votes.T.tocsr()
            for self.n_iter_ in range(1, self.n_iter + 1):
                priors, errors = self._m_step(votes, posterior, q)
                posterior, new_loglik = self._e_step(votes_t, priors, errors)
                converged = abs(new_loglik - loglik) < self.tol
                loglik = new_loglik
                if converged:
                    break
        self._publish(coded, posterior, priors, errors, loglik)
        return self

    def _publish(
        self, coded: Coded, posterior: np.ndarray, priors: np.ndarray, errors: np.ndarray, loglik: float
    ) -> None:
        q = coded.n_labels
        labels = pd.Index(coded.labels, name="label")
        self.probas_ = _frame_of(posterior, coded)
        self.labels_ = _pick(posterior, coded)
        self.priors_ = pd.Series(priors[:q] if q else [], index=labels, name="prior", dtype=float)
        self.errors_ = pd.DataFrame(
            errors.reshape(-1, q) if q else np.zeros((0, 0)),
            index=pd.MultiIndex.from_product([coded.annotators, coded.labels], names=["annotator", "label"]),
            columns=pd.Index(coded.labels, name="true_label"),
        )
        accuracy = (np.diagonal(errors, axis1=1, axis2=2) * priors[None, :]).sum(axis=1) if q else []
        self.skills_ = pd.Series(accuracy, index=pd.Index(coded.annotators, name="annotator"), name="skill", dtype=float)
        self.loglik_ = loglik


class OneCoinDawidSkene(DawidSkene):
    r"""Dawid-Skene with one accuracy per annotator ("one-coin" model).

    Annotator :math:`w` is right with probability :math:`p_w` and otherwise picks one of the other
    :math:`K-1` labels uniformly: :math:`\theta^w_{kl} = p_w` if :math:`k=l` else
    :math:`(1-p_w)/(K-1)`. Far fewer parameters than full DS, so it suits annotators with few tasks;
    it cannot learn class-specific confusions. Same EM, start and stopping rule as
    :class:`DawidSkene`; ``smoothing``/``diagonal_smoothing`` are Beta pseudo-counts on (wrong, right).

    References
    ----------
    .. [1] Dawid & Skene (1979), doi:10.2307/2346806; one-coin variant as in crowd-kit
       ``OneCoinDawidSkene`` and Zhang et al. (2014), "Spectral methods meet EM", NeurIPS.
    """

    def _m_step(self, votes: sparse.csr_matrix, posterior: np.ndarray, q: int) -> tuple[np.ndarray, np.ndarray]:
        counts = np.asarray(votes @ posterior).reshape(-1, q, q)
        right = np.trace(counts, axis1=1, axis2=2)  # expected number of correct answers
        seen = counts.sum(axis=(1, 2))
        p = (right + self.diagonal_smoothing) / (seen + self.diagonal_smoothing + self.smoothing)
        p = np.clip(p, _EPS, 1 - _EPS)
        errors = np.repeat(((1 - p) / max(q - 1, 1))[:, None, None], q, axis=1).repeat(q, axis=2)
        errors[:, np.arange(q), np.arange(q)] = p[:, None]
        return np.clip(posterior.mean(axis=0), _EPS, None), errors
