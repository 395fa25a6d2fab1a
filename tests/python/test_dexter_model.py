"""Final model: region frequencies, the study's StandardScaler + LassoCV, and the saved model."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LassoCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from seq2expr.errors import InputError
from seq2expr.models.dexter.counting import BinCounts, encode_sequences
from seq2expr.models.dexter.model import FittedModel, Region, fit_lasso, region_frequencies, sort_by_name
from seq2expr.models.dexter.segmentation import Lattice

LATTICE = Lattice(((-10, -4), (-3, -1), (0, 0), (1, 9)))


def test_columns_sort_by_plain_string_order() -> None:
    regions = [Region("AA", 342, 684), Region("AA", -2000, 2000), Region("AA", -125, 684), Region("A", 0, 0)]
    names = [r.name for r in sort_by_name(regions)]
    assert names == ["A.0_0", "AA.-125_684", "AA.-2000_2000", "AA.342_684"]


def test_region_frequency_is_count_over_region_length() -> None:
    sequences = ["ACGACGTTACGAAAACGTCA", "CGCGCGCGCGCGCGCGCGCG"]
    store = BinCounts(encode_sequences(sequences), LATTICE.position_bins(20, 10), LATTICE.n_bins, compat=True)
    regions = [Region("CG", -10, 9), Region("CG", -3, 0), Region("ACG", 1, 9)]
    values = region_frequencies(store, LATTICE, regions, np.arange(2))
    # CG starts (relative): gene 0 at −9, −6, −1, 5; gene 1 at −10, −8, …, 6 and 8, which ends on the last
    # base and is skipped (compat mode). ACG: gene 0 at 4 only in 1..9.
    expected = [[4 / 20, 1 / 4, 1 / 9], [9 / 20, 2 / 4, 0.0]]
    np.testing.assert_allclose(values, expected)
    with pytest.raises(InputError, match="not a union of the model's bins"):
        region_frequencies(store, LATTICE, [Region("CG", -5, 0)], np.arange(2))


def test_lasso_is_the_study_pipeline() -> None:
    """Same alpha and coefficients as the study's `make_pipeline(StandardScaler(), LassoCV(cv=10, …))`."""
    rng = np.random.default_rng(5)
    x = rng.uniform(size=(300, 8))
    y = 2 * x[:, 0] - x[:, 3] + rng.normal(scale=0.5, size=300)
    scaler, lasso = fit_lasso(x, y, threads=1)
    study = make_pipeline(StandardScaler(), LassoCV(max_iter=1000000, fit_intercept=True, cv=10)).fit(x, y)
    assert lasso.alpha_ == study.named_steps["lassocv"].alpha_
    np.testing.assert_array_equal(lasso.coef_, study.named_steps["lassocv"].coef_)
    np.testing.assert_array_equal(scaler.scale_, study.named_steps["standardscaler"].scale_)


def test_saved_model_predicts_like_the_pipeline() -> None:
    rng = np.random.default_rng(6)
    x = rng.uniform(size=(200, 3))
    x[:, 2] = 0.5  # constant column: scale 1, coefficient 0
    y = x[:, 0] + rng.normal(scale=0.1, size=200)
    scaler, lasso = fit_lasso(x, y, threads=1)
    model = FittedModel(
        bins=list(LATTICE.bins),
        tss_index=10,
        window_length=20,
        compat_counting=True,
        regions=[Region("AC", -10, 9), Region("CG", 0, 0), Region("GT", 1, 9)],
        coefficients=lasso.coef_.tolist(),
        mean=scaler.mean_.tolist(),
        scale=scaler.scale_.tolist(),
        intercept=float(lasso.intercept_),
        alpha=float(lasso.alpha_),
        n_iter=int(lasso.n_iter_),
        extra={"note": "kept"},
    )
    np.testing.assert_allclose(model.predict(x), lasso.predict(scaler.transform(x)), rtol=1e-12)
    again = FittedModel.from_json(model.to_json())
    assert again == model
    assert again.to_json() == model.to_json()


@pytest.mark.parametrize("text", ["{}", "not json", '{"variables": [{"kmer": "AA"}]}'])
def test_bad_model_file_is_an_input_error(text: str) -> None:
    with pytest.raises(InputError, match=r"model\.json: not a DExTER model\.json"):
        FittedModel.from_json(text)
