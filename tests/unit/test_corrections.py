"""Agents' corrections become training data: out of every split, into every trainer, weighted."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
import pytest

from pipelines.corrections import PROVENANCE_COLUMNS, read_corrections
from pipelines.featurize import featurize
from pipelines.split import SPLIT_COLUMNS, SPLITS, split
from tests.fixtures.bento import synthetic_features, write_feature_splits
from tests.fixtures.twcs import labels_frame, twcs_frame, write_twcs
from training.analysis.data import labelled_customer_tweets, load_corrections
from training.datasets import CORRECTIONS, with_corrections
from training.families import fit_family
from tweetcare.core.errors import UserError
from tweetcare.core.params import BaselineParams, SplitParams, TrainParams
from tweetcare.core.schemas import CORRECTION_COLUMNS, LABEL_COLUMNS

SPLIT = SplitParams(
    profile="tiny", seed=7, profiles={"tiny": {"train": 240, "val": 80, "test": 80}}
)
BASELINE = TrainParams(
    mask_handles=True, baseline=BaselineParams(C=4.0, max_features=5000, ngram_max=2, min_df=1)
)


def correction(tweet_id: str, text: str, **overrides: str) -> dict[str, str]:
    """One corrections.csv row: a customer tweet whose category an agent changed."""
    row = {
        "tweet_id": tweet_id,
        "text": text,
        "inbound": "True",
        "category": "billing",
        "sentiment": "negative",
        "corrected": "category",
        "agent": "ana",
        "corrected_at": "2024-05-01T10:00:00Z",
    }
    return row | overrides


def write_corrections(rows: list[dict[str, str]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=list(CORRECTION_COLUMNS)).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("data")
    frame = twcs_frame(200)
    return write_twcs(frame, folder / "twcs.csv"), write_twcs(
        labels_frame(frame), folder / "labels.csv"
    )


def read_splits(folder: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(folder / f"{name}.parquet") for name in SPLITS}


def test_split_moves_corrected_tweets_out_of_every_split(
    data: tuple[Path, Path], tmp_path: Path
) -> None:
    raw, labels = data
    split(raw, labels, SPLIT, tmp_path / "plain")
    plain = read_splits(tmp_path / "plain")
    # one customer tweet from each split, plus a live tweet the raw file never had
    picked = {n: p.loc[p["inbound"], "tweet_id"].iloc[0] for n, p in plain.items()}
    rows = [
        correction(picked["train"], "@AcmeHelp charged twice, not a delivery problem"),
        correction(picked["val"], "@AcmeHelp thanks for the fix", sentiment="positive"),
        correction(
            picked["test"], "we are sorry to hear that", inbound="False", category="", sentiment=""
        ),
        correction("live-1", "@AcmeHelp app crashes on login", category="technical"),
    ]
    csv = write_corrections(rows, tmp_path / "corrections.csv")

    report = split(raw, labels, SPLIT, tmp_path / "fixed", corrections=csv)

    assert report.corrections == 4
    assert report.corrected_in_splits == {"train": 1, "val": 1, "test": 1}
    fixed = read_splits(tmp_path / "fixed")
    for name in SPLITS:
        # the same threads as without corrections, less the corrected tweet
        assert set(fixed[name]["tweet_id"]) == set(plain[name]["tweet_id"]) - {picked[name]}
    written = pd.read_parquet(tmp_path / "fixed" / "corrections.parquet")
    assert list(written.columns) == [*SPLIT_COLUMNS, *LABEL_COLUMNS[1:], *PROVENANCE_COLUMNS]
    assert written["tweet_id"].tolist() == [*picked.values(), "live-1"]
    assert written["conversation_id"].tolist() == written["tweet_id"].tolist()
    assert written["inbound"].tolist() == [True, True, False, True]
    assert written["category"].fillna("").tolist() == ["billing", "billing", "", "technical"]
    assert written["sentiment"].fillna("").tolist() == ["negative", "positive", "", "negative"]
    assert written["author_id"].isna().all()


def test_no_corrections_file_changes_nothing(data: tuple[Path, Path], tmp_path: Path) -> None:
    raw, labels = data
    split(raw, labels, SPLIT, tmp_path / "plain")
    stale = tmp_path / "out" / "corrections.parquet"
    stale.parent.mkdir()
    stale.write_bytes(b"an earlier run's corrections")

    report = split(raw, labels, SPLIT, tmp_path / "out", corrections=tmp_path / "absent.csv")

    assert report.corrections == 0 and report.corrected_in_splits == dict.fromkeys(SPLITS, 0)
    assert not stale.exists()
    for name, part in read_splits(tmp_path / "out").items():
        pd.testing.assert_frame_equal(part, read_splits(tmp_path / "plain")[name])


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"sentiment": "angry"}, r"to_be_in_set on column 'sentiment'.*'angry'"),
        ({"category": "weather"}, r"to_be_in_set on column 'category'.*'weather'"),
        ({"inbound": "yes"}, r"to_be_in_set on column 'inbound'.*'yes'"),
        ({"corrected": "text"}, r"match_regex on column 'corrected'.*'text'"),
        ({"corrected_at": "yesterday"}, r"not_be_null on column 'corrected_at_utc'"),
        ({"agent": ""}, r"not_be_null on column 'agent'"),
        ({"inbound": "False"}, r"to_be_null on column 'brand_tweet_label'"),
        ({"tweet_id": "1"}, r"to_be_unique on column 'tweet_id'"),
    ],
)
def test_a_bad_corrections_file_is_a_one_line_user_error(
    tmp_path: Path, change: dict[str, str], problem: str
) -> None:
    rows = [correction("1", "@AcmeHelp my bill"), correction("2", "@AcmeHelp my app") | change]
    csv = write_corrections(rows, tmp_path / "corrections.csv")
    with pytest.raises(UserError, match=problem) as caught:
        read_corrections(csv)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{csv} is not a valid corrections file")


def test_a_missing_column_is_named_and_nothing_is_written(
    data: tuple[Path, Path], tmp_path: Path
) -> None:
    csv = tmp_path / "corrections.csv"
    pd.DataFrame([correction("1", "@AcmeHelp my bill")]).drop(columns="agent").to_csv(
        csv, index=False
    )
    with pytest.raises(UserError, match=r"lacks columns \['agent'\]"):
        split(*data, SPLIT, tmp_path / "out", corrections=csv)
    assert not (tmp_path / "out").exists()


def test_featurize_covers_the_corrections_and_drops_withdrawn_ones(tmp_path: Path) -> None:
    splits, features = tmp_path / "splits", tmp_path / "features"
    splits.mkdir()
    frame = pd.DataFrame({"tweet_id": ["1"], "inbound": [True], "text": ["@AcmeHelp my bill"]})
    for name in (*SPLITS, CORRECTIONS):
        frame.to_parquet(splits / f"{name}.parquet", index=False)
    assert featurize(splits, True, features)[CORRECTIONS] == 1
    assert pd.read_parquet(features / "corrections.parquet")["clean_text"].tolist() == [
        "<brand> my bill"
    ]
    (splits / "corrections.parquet").unlink()
    assert CORRECTIONS not in featurize(splits, True, features)
    assert not (features / "corrections.parquet").exists()


TRAIN = pd.DataFrame({"text": ["a", "b"], "inbound": [True, False], "clean_text": ["a", "b"]})
FIXES = pd.DataFrame({"text": ["x", "y"], "inbound": [False, True], "agent": ["ana", "bo"]})


def test_with_corrections_repeats_each_correction_by_the_weight() -> None:
    out = with_corrections(TRAIN, FIXES, 3)
    assert out["text"].tolist() == ["a", "b", "x", "x", "x", "y", "y", "y"]
    assert out["inbound"].tolist() == [True, False, False, False, False, True, True, True]
    # train's columns: what the corrections lack is null, what train lacks is dropped
    assert list(out.columns) == list(TRAIN.columns)
    assert out["clean_text"].isna().sum() == 6


@pytest.mark.parametrize(("fixes", "weight"), [(None, 5), (FIXES.iloc[:0], 5), (FIXES, 0)])
def test_with_corrections_without_any_is_train_itself(
    fixes: pd.DataFrame | None, weight: int
) -> None:
    assert with_corrections(TRAIN, fixes, weight) is TRAIN


# tweets the baseline reads wrong: customers answering a user id, a brand starting with a brand
MISREAD = pd.DataFrame(
    {
        "tweet_id": ["c1", "c2", "c3", "c4", "c5"],
        "text": [
            "@200001 thanks, sent you a DM with my order number",
            "@200002 still waiting for that DM you promised",
            "@200003 your DM link does not work, help",
            "@200004 I followed you, please DM me back",
            "@AcmeHelp apologies, our team will follow up ^FR",
        ],
        "inbound": [True, True, True, True, False],
    }
)


def test_a_weighted_handful_of_corrections_fixes_the_baseline() -> None:
    train, test = synthetic_features(300), synthetic_features(100, seed=7)
    texts, truth = MISREAD["text"].tolist(), MISREAD["inbound"].to_numpy()
    before = fit_family("baseline", {"train": train}, BASELINE, mask_handles=True)
    assert ((before.inbound_probability(texts) >= 0.5) == truth).sum() == 0
    after = fit_family(
        "baseline", {"train": train, CORRECTIONS: MISREAD}, BASELINE, True, corrections_weight=5
    )
    assert ((after.inbound_probability(texts) >= 0.5) == truth).all()
    # and the rest of what it knew still holds
    scores = after.inbound_probability(test["text"].tolist())
    assert ((scores >= 0.5) == test["inbound"].to_numpy()).mean() > 0.9


def test_train_stage_logs_the_corrections_it_trained_on(tmp_path: Path) -> None:
    from pipelines.train import train

    features = write_feature_splits(tmp_path / "features", rows=200)
    MISREAD.assign(conversation_id=MISREAD["tweet_id"]).to_parquet(features / "corrections.parquet")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    params = BASELINE.model_copy(update={"raw_handles_models": []})
    result = train(
        features, params, tmp_path / "out", uri, data_version_override="t", corrections_weight=3
    )
    for run_id in (result.run_id, result.parent_run_id):
        run = mlflow.get_run(run_id)
        assert run.data.params["corrections_rows"] == "5"
        assert run.data.params["corrections_weight"] == "3"
    inputs = {i.dataset.name for i in mlflow.get_run(result.run_id).inputs.dataset_inputs}
    assert "twcs-corrections" in inputs


def test_the_analysis_models_get_english_customer_corrections_with_the_label(
    tmp_path: Path,
) -> None:
    pd.DataFrame(
        {
            "tweet_id": ["1", "2", "3", "4"],
            "conversation_id": ["1", "2", "3", "4"],
            "text": ["my bill", "thanks", "sorry to hear", "mi factura"],
            "inbound": [True, True, False, True],
            "category": ["billing", None, None, "billing"],
            "sentiment": ["negative", "positive", None, "negative"],
        }
    ).to_parquet(tmp_path / "corrections.parquet")
    flags = pd.Series({"4": "not_english", "9": "spam"})

    fixes = load_corrections(tmp_path, flags)

    assert fixes is not None
    assert fixes["flag"].tolist() == ["", "", "", "not_english"]
    assert fixes["opening"].all()
    assert labelled_customer_tweets(fixes, "category")["tweet_id"].tolist() == ["1"]
    assert labelled_customer_tweets(fixes, "sentiment")["tweet_id"].tolist() == ["1", "2"]
    assert labelled_customer_tweets(None, "category") is None
    assert load_corrections(tmp_path / "none", flags) is None
