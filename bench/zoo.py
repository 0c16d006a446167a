"""The video-level zoo on real videos, and the ensemble curve (docs/results.md, "The zoo
on real videos").

`train`: every registered video-level family at a size this machine trains (`MEMBERS`:
each names the full-profile model it stands for) through the L1Trainer's own fold code
(`trainer.train_fold`: the split files, streaming reader, training recipe and its
validation GAP) and the L1Assembler's joins, on FoldSplitter's split layout of the given
files (`splits.write_fold_splits`: 5 folds by id, the held-out split, test). A family
with several `search` recipes tries each on fold 0 and keeps the best by fold-0
validation GAP (its fold-0 model is the kept one: that fold's out-of-fold score was also
the choice's yardstick). Beside them, `plain_mlp`: a one-hidden-layer MLP written with
tf_keras alone (its own fit, the epoch of best validation GAP kept), the "one good network"
every family is compared with. Each member's fold and assembled predictions stay in
WORK/members/NAME/ (resumable: a finished member is skipped).

`search-plain`: fold 0 of each of the plain MLP's candidate recipes (`PLAIN_MLP_SEARCH`),
the search that chose `PLAIN_MLP_RECIPE`.

`table`: per member parameters, seconds per epoch, epochs to best, out-of-fold /
held-out / test GAP@20 (the evaluator's scoring, as `y8m score` computes it).

`curve`: stack GAP (LightGBM stacker's own code in process, over candidate rows built by
PredictionMerger's definitions) against the number of members, added greedily by
out-of-fold gain; and the same counts of one family's seeds. Writes the points as JSON
and an SVG plot.

    S=../shared/data/youtube8m_samples/video_level_2018_validate
    nice -n 5 uv run --frozen python bench/zoo.py train --work W \\
        --labelled "$S/validate00[0-2]?.tfrecord" "$S/validate003[0-1].tfrecord" --test "$S/validate003[2-9].tfrecord"
    nice -n 5 uv run --frozen python bench/zoo.py search-plain --work W --labelled ... --test ...
    uv run --frozen python bench/zoo.py table --work W
    nice -n 5 uv run --frozen python bench/zoo.py curve --work W --svg docs/zoo_curve.svg
"""
import argparse
import dataclasses
import json
import logging
import os
import shutil
import time
import types
from typing import NamedTuple

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

from schemas import splits  # noqa: E402
from components.evaluator import evaluate  # noqa: E402
from components.l1_assembler import assemble  # noqa: E402
from components.l1_trainer import trainer  # noqa: E402
from components.lgbm_stacker import stacker  # noqa: E402
from components import l2_features  # noqa: E402
from components.l2_features import table_of  # noqa: E402
from components.prediction_merger import merge  # noqa: E402
from models import data, metrics, registry  # noqa: E402
from models.model_config import L1ModelConfig  # noqa: E402
from pipeline.profile import load_profile  # noqa: E402
from schemas import predictions as rows  # noqa: E402
from schemas.video_level import NUM_CLASSES  # noqa: E402

FOLDS = 5
HOLDOUT_FRACTION = 0.1
# Shared by every member: batch 256, at most 14 epochs, early stopping on the validation
# GAP after 2 epochs without gain (the plateau schedule halves the rate after each). At
# rate 0.01 gated_mlp's fold-0 GAP still rose by 0.01 an epoch at epoch 10 (0.579).
TRAINING = {"batch_size": 256, "max_epochs": 14, "early_stopping_patience": 2, "learning_rate": 0.02}
# mlp's fold-0 search. At 0.001 (the full profile's rate) mlp reached fold-0 GAP 0.20 after
# 8 epochs and resnet_like 0.60 after 29: L2-normalised inputs need larger steps.
LEARNING_RATES = ({"learning_rate": 0.01}, {"learning_rate": 0.03})


class Member(NamedTuple):
    name: str
    family: str
    kwargs: dict
    stands_for: str  # the full profile's model of this family
    search: tuple = ({},)  # training overrides tried on fold 0 (one: no search)
    seed: int = 0
    # The K most frequent classes of the training folds only (0: all): on these shards the
    # top 1,000 cost no GAP and 60% of the time (docs/results.md, "Class subsets").
    top_classes: int = 0
    training: dict = {}  # the member's own overrides of TRAINING


# Sizes for one 2-core machine shared with other work: mlp at 512 and mlp_bn and the plain
# MLP at 2048 hidden units over every class; the other families at most 512 wide, on the
# 1,000 most frequent classes.
SMALL = {"top_classes": 1000}
MEMBERS = (
    Member("mlp", "mlp", {"hidden_size": 512, "dropout": 0.5}, "mlp_4096", LEARNING_RATES),
    # quick's mlp: the plain MLP's search carried into the family (batch normalisation, rate 0.001).
    Member("mlp_bn", "mlp", {"hidden_size": 2048, "dropout": 0.5, "batch_norm": True}, "mlp_4096",
           training={"batch_size": 256, "max_epochs": 20, "learning_rate": 0.001, "early_stopping_patience": 3}),
    Member("gated_mlp", "gated_mlp", {"hidden_size": 512}, "gated_mlp_4096, gated_mlp_8192", **SMALL),
    Member("resnet_like", "resnet_like", {"inner_size": 256, "av_id_block_num": 1, "concat_id_block_num": 1,
                                          "dropout": 0.5}, "resnet_like_1x1_2048 .. 4x4_2048",
           training={"learning_rate": 0.01}, **SMALL),
    Member("moe", "moe", {"num_mixtures": 1}, "moe_4", **SMALL),
    Member("early_concat_fcn", "early_concat_fcn", {"hidden_size": 512, "num_layers": 2, "dropout": 0.3},
           "early_concat_fcn_4096x2", **SMALL),
    Member("cyclic_fcn", "cyclic_fcn", {"hidden_size": 512, "length": 3}, "cyclic_fcn_2048_6", **SMALL),
    Member("bottle_fcn", "bottle_fcn", {"width": 512, "layers_count": 3}, "bottle_fcn_2048_5", **SMALL),
    Member("repeated_gru", "repeated_gru", {"hidden_size": 128, "repeats": 10}, "repeated_gru_1024", **SMALL),
    Member("ensemble_student", "ensemble_student", {"width_scale": 0.0625}, "the student (width 1.0)", **SMALL),
    # Seed twins: the same count of one family, for the curve's other line.
    Member("gated_mlp_seed1", "gated_mlp", {"hidden_size": 512}, "gated_mlp_4096", seed=1, **SMALL),
    Member("gated_mlp_seed2", "gated_mlp", {"hidden_size": 512}, "gated_mlp_4096", seed=2, **SMALL),
)
PLAIN_MLP = "plain_mlp"
# Its recipe from a fold-0 search in plain tf_keras (docs/results.md, "The zoo on real
# videos"): batch normalisation after the hidden layer, Adam at 0.001, the epoch of best
# validation GAP kept.
PLAIN_MLP_RECIPE = {"hidden_size": 2048, "batch_norm": True, "dropout": 0.5, "learning_rate": 0.001,
                    "batch_size": 256, "max_epochs": 30, "patience": 4}
# The fold-0 search that chose it (`search-plain`): the former baseline (512 units, no
# normalisation, rate 0.01), the recipe, and a larger rate with smaller batches.
PLAIN_MLP_SEARCH = (
    {**PLAIN_MLP_RECIPE, "hidden_size": 512, "batch_norm": False, "learning_rate": 0.01},
    PLAIN_MLP_RECIPE,
    {**PLAIN_MLP_RECIPE, "learning_rate": 0.003, "batch_size": 128},
)


# Splits and labels


def split_examples(work: str, labelled: list[str], test: list[str]):
    """The split layout of the given files under WORK (written once)."""
    artifact = types.SimpleNamespace(uri=os.path.join(work, "split_examples"))
    if not os.path.exists(os.path.join(artifact.uri, "done")):
        shutil.rmtree(artifact.uri, ignore_errors=True)
        splits.write_fold_splits(artifact, data.files_of(labelled), data.files_of(test), FOLDS, HOLDOUT_FRACTION)
        open(os.path.join(artifact.uri, "done"), "w").close()
    return artifact


def examples_of(work: str):
    return types.SimpleNamespace(uri=os.path.join(work, "split_examples"))


def member_dir(work: str, name: str) -> str:
    return os.path.join(work, "members", name)


def assembled(work: str, name: str):
    return types.SimpleNamespace(uri=os.path.join(member_dir(work, name), "assembled"))


def read_result(work: str, name: str) -> dict | None:
    path = os.path.join(member_dir(work, name), "result.json")
    if not os.path.exists(path):
        return None
    with open(path) as source:
        return json.load(source)


def score(name: str, artifact, labels: dict) -> dict:
    """GAP@20 of every labelled prediction split, as the evaluator scores a stage."""
    return {split: evaluate.score_split(name, split, evaluate.read_top_k(artifact, split), labels[split],
                                        NUM_CLASSES)["gap"] for split in splits.PREDICTION_SPLITS}


# Training


def member_config(member: Member, overrides: dict) -> L1ModelConfig:
    return L1ModelConfig.from_dict({"name": member.name, "family": member.family, "kwargs": member.kwargs,
                                    "top_classes": member.top_classes,
                                    "training": {**recipe_of(member), **overrides, "seed": member.seed}})


def recipe_of(member: Member) -> dict:
    return {**TRAINING, **member.training}


def fold_artifact(directory: str, fold: int, attempt: str = ""):
    return types.SimpleNamespace(uri=os.path.join(directory, f"fold_{fold}{attempt}"))


def train_member(member: Member, work: str, labels: dict) -> dict:
    """The member's 5 folds (fold 0 once per searched recipe), assembled and scored."""
    directory = member_dir(work, member.name)
    shutil.rmtree(directory, ignore_errors=True)
    examples = examples_of(work)
    started = time.time()
    search, folds, overrides = [], [], {}
    if len(member.search) > 1:
        for attempt, candidate in enumerate(member.search):
            summary = trainer.train_fold(examples, fold_artifact(directory, 0, f"_try{attempt}"),
                                         member_config(member, candidate), 0, FOLDS, NUM_CLASSES)
            search.append({"training": candidate, **summary})
            print(f"{member.name} fold 0 with {candidate}: GAP {summary['best_val_gap']:.4f} at epoch "
                  f"{summary['best_epoch']} ({summary['seconds']:.0f} s)", flush=True)
        best = int(np.argmax([attempt["best_val_gap"] for attempt in search]))
        overrides = search[best]["training"]
        os.rename(fold_artifact(directory, 0, f"_try{best}").uri, fold_artifact(directory, 0).uri)
        folds = [search[best]]
    config = member_config(member, overrides)
    for fold in range(len(folds), FOLDS):
        folds.append(trainer.train_fold(examples, fold_artifact(directory, fold), config, fold, FOLDS, NUM_CLASSES))
        print(f"{member.name} fold {fold}: GAP {folds[-1]['best_val_gap']:.4f} at epoch "
              f"{folds[-1]['best_epoch']} ({folds[-1]['seconds']:.0f} s)", flush=True)
    write_assembled(work, member.name, [fold_artifact(directory, fold) for fold in range(FOLDS)])
    return {"family": member.family, "kwargs": member.kwargs, "stands_for": member.stands_for,
            "training": {**recipe_of(member), **overrides}, "top_classes": member.top_classes,
            "seed": member.seed, "search": search, "folds": folds, "seconds": round(time.time() - started),
            "gap": score(member.name, assembled(work, member.name), labels)}


def write_assembled(work: str, name: str, fold_artifacts: list) -> None:
    """The L1Assembler's joins: out-of-fold rows fold after fold, held-out and test the fold mean."""
    assemble.write_predictions(fold_artifacts, assembled(work, name), name)


def features_and_labels(pattern: str) -> tuple:
    """(ids, features [n, 1152], multi-hot targets [n, classes]) of a split, in file order."""
    ids, features, targets = [], [], []
    for batch in data.read_batches([pattern]):
        ids.extend(data.ids_of(batch))
        features.append(batch[data.FEATURES].numpy())
        targets.append(data.dense_targets(batch, data.Targets(NUM_CLASSES)).numpy())
    return ids, np.concatenate(features), np.concatenate(targets)


def plain_mlp(recipe: dict) -> keras.Model:
    """The orientation's network, in plain tf_keras: L2-normalised input, one hidden layer
    (batch-normalised when the recipe says), the output bias at the label prior."""
    prior = 3.0 / NUM_CLASSES
    return keras.Sequential([
        keras.layers.InputLayer(input_shape=(1152,)),
        keras.layers.UnitNormalization(),
        keras.layers.Dense(recipe["hidden_size"]),
        *([keras.layers.BatchNormalization()] if recipe["batch_norm"] else []),
        keras.layers.ReLU(),
        keras.layers.Dropout(recipe["dropout"]),
        keras.layers.Dense(NUM_CLASSES, bias_initializer=keras.initializers.Constant(np.log(prior / (1 - prior)))),
    ])


def fit_plain_mlp(recipe: dict, fold_data: list, fold: int) -> tuple[keras.Model, list[float]]:
    """The plain MLP trained on every fold but `fold`, validated on it (seed: the fold)."""
    keras.utils.set_random_seed(fold)
    train_x = np.concatenate([part[1] for k, part in enumerate(fold_data) if k != fold])
    train_y = np.concatenate([part[2] for k, part in enumerate(fold_data) if k != fold])
    model = plain_mlp(recipe)
    model.compile(optimizer=keras.optimizers.Adam(recipe["learning_rate"]),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True))
    return model, fit_best_epoch(model, (train_x, train_y), fold_data[fold][1:], recipe)


def fold_features(examples) -> list[tuple]:
    """(ids, features, targets) of every fold split, in fold order."""
    return [features_and_labels(splits.split_files_pattern(examples, name)) for name in splits.fold_split_names(FOLDS)]


def validation_gap(model: keras.Model, features: np.ndarray, targets: np.ndarray) -> float:
    scores = tf.sigmoid(model.predict(features, batch_size=1024, verbose=0)).numpy()
    class_ids, top_scores = metrics.top_k(scores)
    return metrics.gap(class_ids, top_scores, [np.flatnonzero(row) for row in targets])


def fit_best_epoch(model: keras.Model, train: tuple, validation: tuple, recipe: dict) -> list[float]:
    """Epoch by epoch until `patience` epochs without a better validation GAP; the model
    ends with its best epoch's weights. Returns the GAP of every epoch."""
    gaps, best_weights = [], None
    while len(gaps) < recipe["max_epochs"]:
        model.fit(*train, batch_size=recipe["batch_size"], epochs=1, verbose=0, shuffle=True)
        gaps.append(validation_gap(model, *validation))
        if gaps[-1] >= max(gaps):
            best_weights = model.get_weights()
        elif len(gaps) - 1 - int(np.argmax(gaps)) >= recipe["patience"]:
            break
    model.set_weights(best_weights)
    return gaps


def train_plain_mlp(work: str, labels: dict) -> dict:
    """The baseline: the same folds, its own fit; predictions in the members' layout."""
    directory = member_dir(work, PLAIN_MLP)
    shutil.rmtree(directory, ignore_errors=True)
    examples, recipe, started = examples_of(work), PLAIN_MLP_RECIPE, time.time()
    fold_data = fold_features(examples)
    others = {split: features_and_labels(splits.split_files_pattern(examples, split))
              for split in (splits.HOLDOUT, splits.TEST)}
    folds = []
    for fold in range(FOLDS):
        fold_started = time.time()
        model, gaps = fit_plain_mlp(recipe, fold_data, fold)
        epochs = len(gaps)
        artifact = fold_artifact(directory, fold)
        for split, (ids, features, _) in ((splits.OOF, fold_data[fold]), *others.items()):
            scores = tf.sigmoid(model.predict(features, batch_size=1024, verbose=0)).numpy()
            splits.write_dense_predictions(artifact, split, [(ids, scores)])
        folds.append({"fold": fold, "best_epoch": int(np.argmax(gaps)) + 1, "best_val_gap": max(gaps),
                      "val_gaps": [round(gap, 5) for gap in gaps], "epochs_run": epochs,
                      "epoch_seconds": [round((time.time() - fold_started) / epochs, 2)] * epochs})
        print(f"{PLAIN_MLP} fold {fold}: GAP {max(gaps):.4f} at epoch {folds[-1]['best_epoch']} of {epochs} "
              f"({time.time() - fold_started:.0f} s)", flush=True)
        parameters = model.count_params()
        keras.backend.clear_session()
    write_assembled(work, PLAIN_MLP, [fold_artifact(directory, fold) for fold in range(FOLDS)])
    return {"family": "tf_keras Sequential", "kwargs": {}, "stands_for": "the orientation's MLP",
            "training": recipe, "seed": 0, "parameters": parameters, "search": [], "folds": folds,
            "seconds": round(time.time() - started), "gap": score(PLAIN_MLP, assembled(work, PLAIN_MLP), labels)}


def search_plain(args) -> None:
    """Fold 0 of each recipe of PLAIN_MLP_SEARCH: its best validation GAP and epoch."""
    fold_data = fold_features(split_examples(args.work, args.labelled, args.test))
    for recipe in PLAIN_MLP_SEARCH:
        started = time.time()
        _, gaps = fit_plain_mlp(recipe, fold_data, 0)
        keras.backend.clear_session()
        print(f"{PLAIN_MLP} fold 0 with {recipe}: GAP {max(gaps):.4f} at epoch {int(np.argmax(gaps)) + 1} "
              f"of {len(gaps)} ({time.time() - started:.0f} s)", flush=True)


def train(args) -> None:
    split_examples(args.work, args.labelled, args.test)
    labels = evaluate.evaluation_labels(examples_of(args.work), FOLDS)
    wanted = args.members or [PLAIN_MLP] + [member.name for member in MEMBERS]
    by_name = {member.name: member for member in MEMBERS}
    for name in wanted:
        if read_result(args.work, name) is not None:
            print(f"{name}: done before", flush=True)
            continue
        result = train_plain_mlp(args.work, labels) if name == PLAIN_MLP else train_member(
            by_name[name], args.work, labels)
        with open(os.path.join(member_dir(args.work, name), "result.json"), "w") as target:
            json.dump(result, target, indent=1)
        print(f"{name}: " + "  ".join(f"{split} {gap:.4f}" for split, gap in result["gap"].items()), flush=True)


# The table


def finished(work: str) -> dict[str, dict]:
    names = [PLAIN_MLP] + [member.name for member in MEMBERS]
    return {name: result for name in names if (result := read_result(work, name)) is not None}


def table(args) -> None:
    print("| member | family, size (stands for) | parameters | recipe (fold-0 search) | s/epoch | "
          "epochs to best | out-of-fold | held-out | test |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, result in finished(args.work).items():
        folds = result["folds"]
        parameters = result.get("parameters") if name == PLAIN_MLP else registry.build_model(
            result["family"], result.get("top_classes") or NUM_CLASSES, **result["kwargs"]).count_params()
        seconds = np.mean([s for fold in folds for s in fold["epoch_seconds"]])
        tried = result["search"] if len(result["search"]) > 1 else []  # one recipe: no search
        searched = ", ".join(f"lr {a['training']['learning_rate']}: {a['best_val_gap']:.4f}" for a in tried)
        recipe = f"lr {result['training']['learning_rate']}" + (f" ({searched})" if searched else "")
        size = ", ".join([f"{k} {v}" for k, v in result["kwargs"].items()]
                         + ([f"top {result['top_classes']} classes"] if result.get("top_classes") else []))
        print(f"| {name} | {result['family']} {size} ({result['stands_for']}) | {parameters:,} | "
              f"{recipe} | {seconds:.1f} | {'/'.join(str(f['best_epoch']) for f in folds)} | "
              f"{result['gap']['oof']:.4f} | {result['gap']['holdout']:.4f} | {result['gap']['test']:.4f} |")


# The ensemble curve


class Scores(NamedTuple):
    """One member's dense scores of every video (the `videos` order) and their ranks."""
    scores: np.ndarray  # float32 [videos, classes]
    ranks: np.ndarray  # int16 [videos, classes]: classes scored strictly higher


def ranks_of(scores: np.ndarray) -> np.ndarray:
    """PredictionMerger's rank (`merge.model_column`) of every class, all at once: a
    class's position in descending order, ties at the first position of their value."""
    order = np.argsort(-scores, axis=1, kind="stable")
    ordered = np.take_along_axis(scores, order, axis=1)
    positions = np.broadcast_to(np.arange(scores.shape[1]), scores.shape)
    first = np.maximum.accumulate(np.where(
        np.concatenate([np.ones((len(scores), 1), bool), ordered[:, 1:] != ordered[:, :-1]], axis=1),
        positions, 0), axis=1)
    ranks = np.empty(scores.shape, np.int16)
    np.put_along_axis(ranks, order, first.astype(np.int16), axis=1)
    return ranks


class Videos(NamedTuple):
    ids: list[str]
    split: np.ndarray  # the prediction split of each video
    folds: np.ndarray
    labels: list[np.ndarray]


def videos_of(work: str, name: str, labels: dict) -> Videos:
    ids, split_of = [], []
    for split in splits.PREDICTION_SPLITS:
        for serialized in splits.read_split_records(assembled(work, name), split):
            ids.append(rows.decode_prediction(serialized).video_id)
            split_of.append(split)
    folds = np.asarray([splits.fold_of(video_id, FOLDS, HOLDOUT_FRACTION) if split == splits.OOF else -1
                        for video_id, split in zip(ids, split_of)], np.int64)
    by_split = {split: {} for split in labels}
    for split, index in labels.items():
        for position, video_id in enumerate(index.ids):
            by_split[split][video_id.decode()] = index.labels[index.offsets[position]:index.offsets[position + 1]]
    return Videos(ids, np.asarray(split_of), folds,
                  [by_split[split][video_id].astype(np.int64) for video_id, split in zip(ids, split_of)])


def member_scores(work: str, name: str, videos: Videos) -> Scores:
    matrix = np.empty((len(videos.ids), NUM_CLASSES), np.float32)
    position = 0
    for split in splits.PREDICTION_SPLITS:
        for serialized in splits.read_split_records(assembled(work, name), split):
            row = rows.decode_prediction(serialized)
            assert row.video_id == videos.ids[position], "members list their videos in one order"
            matrix[position] = row.scores
            position += 1
    return Scores(matrix, ranks_of(matrix))


def candidate_chunks(members: list[Scores], videos: Videos, indices: np.ndarray, chunk_videos: int):
    """PredictionMerger's candidate rows (`l2_features.l2_row`) of the videos at `indices`, as
    the stacker's chunks."""
    chunk = []
    for index in indices:
        candidates = np.unique(np.concatenate([merge.top_labels(m.scores[index]) for m in members])).astype(np.int64)
        chunk.append(l2_features.l2_row(videos.ids[index], int(videos.folds[index]), videos.labels[index], candidates,
                                  np.stack([m.scores[index, candidates] for m in members], axis=1),
                                  np.stack([m.ranks[index, candidates] for m in members], axis=1).astype(np.int64)))
        if len(chunk) == chunk_videos:
            yield table_of(chunk)
            chunk = []
    if chunk:
        yield table_of(chunk)


def stack_gaps(names: list[str], scores: dict, videos: Videos, labels: dict, settings, directory: str,
               scored_splits=splits.PREDICTION_SPLITS) -> dict:
    """The LightGBM stack of these members: its GAP@20 on each of `scored_splits` (the
    others are given no videos). Each split's candidate rows are built once and held (a
    few MB here), not once per pass of the stacker."""
    members = [scores[name] for name in names]
    tables = {split: list(candidate_chunks(members, videos, np.flatnonzero(videos.split == split),
                                           settings.chunk_videos)) if split in scored_splits else []
              for split in splits.PREDICTION_SPLITS}
    sources = {split: (lambda chunk_videos, split=split: tables[split]) for split in splits.PREDICTION_SPLITS}
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    predictions = types.SimpleNamespace(uri=directory)
    stacker.stack(sources, l2_features.l2_feature_names(names), settings, FOLDS, NUM_CLASSES, predictions, directory)
    return {split: evaluate.score_split("stack", split, evaluate.read_top_k(predictions, split), labels[split],
                                        NUM_CLASSES)["gap"] for split in scored_splits}


def check_ranks(scores: Scores, videos: int = 50) -> None:
    """The all-at-once ranks equal PredictionMerger's own on some videos."""
    for index in range(videos):
        candidates = merge.top_labels(scores.scores[index])
        _, ranks = merge.model_column(scores.scores[index], candidates)
        assert np.array_equal(ranks, scores.ranks[index, candidates]), "ranks differ from merge.model_column"


def curve(args) -> None:
    results = finished(args.work)
    labels = evaluate.evaluation_labels(examples_of(args.work), FOLDS)
    seeds = [name for name in results if name == args.seed_family or name.startswith(f"{args.seed_family}_seed")]
    # The product's families; the plain MLP is the table's yardstick, not a member.
    pool = [name for name in results if name not in seeds[1:] and name != PLAIN_MLP]
    videos = videos_of(args.work, pool[0], labels)
    scores = {name: member_scores(args.work, name, videos) for name in pool + seeds[1:]}
    check_ranks(scores[pool[0]])
    # One LightGBM thread: beside other work, OpenMP's spinning threads stalled each booster.
    settings = dataclasses.replace(load_profile("quick").stacker, n_jobs=1)
    choose = dataclasses.replace(settings, max_train_videos=args.selection_videos)
    directory = os.path.join(args.work, "stack")
    points = {"greedy": [], "seeds": [], "selection_videos": args.selection_videos}
    chosen = []
    remaining = sorted(pool, key=lambda name: -results[name]["gap"]["oof"])
    while remaining and len(chosen) < args.max_members:
        started = time.time()
        if chosen:  # the candidate whose stack with the chosen gains most out of fold (on the sample)
            trial = {name: stack_gaps(chosen + [name], scores, videos, labels, choose, directory,
                                      [splits.OOF])[splits.OOF] for name in remaining}
            best = max(remaining, key=trial.get)
        else:  # the best member alone
            best = remaining[0]
        chosen.append(best)
        remaining.remove(best)
        gaps = stack_gaps(chosen, scores, videos, labels, settings, directory)
        points["greedy"].append({"members": list(chosen), **gaps, "seconds": round(time.time() - started)})
        print(f"{len(chosen)} members (+{best}): " + "  ".join(f"{s} {g:.4f}" for s, g in gaps.items())
              + f"  ({time.time() - started:.0f} s)", flush=True)
        save(args, points)
    for count in range(1, len(seeds) + 1):
        gaps = stack_gaps(seeds[:count], scores, videos, labels, settings, directory)
        points["seeds"].append({"members": seeds[:count], **gaps})
        print(f"{count} seeds of {args.seed_family}: " + "  ".join(f"{s} {g:.4f}" for s, g in gaps.items()),
              flush=True)
        save(args, points)


def save(args, points: dict) -> None:
    with open(os.path.join(args.work, "curve.json"), "w") as target:
        json.dump(points, target, indent=1)
    if args.svg:
        with open(args.svg, "w") as target:
            target.write(curve_svg(points, args.seed_family))


def curve_svg(points: dict, seed_family: str) -> str:
    """The curve as a hand-written SVG line chart: GAP@20 against members."""
    series = [("greedy, out of fold", [p["oof"] for p in points["greedy"]], "#1f77b4", ""),
              ("greedy, test", [p["test"] for p in points["greedy"]], "#1f77b4", "6,4"),
              (f"{seed_family} seeds, out of fold", [p["oof"] for p in points["seeds"]], "#d62728", ""),
              (f"{seed_family} seeds, test", [p["test"] for p in points["seeds"]], "#d62728", "6,4")]
    values = [v for _, ys, _, _ in series for v in ys]
    count = max(len(points["greedy"]), len(points["seeds"]), 2)
    low, high = np.floor(min(values) * 100) / 100, np.ceil(max(values) * 100) / 100
    width, height, left, top, plot_w, plot_h = 720, 380, 60, 20, 420, 300

    def x(i):
        return left + plot_w * i / (count - 1)

    def y(v):
        return top + plot_h * (high - v) / max(high - low, 1e-9)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
             f'font-size="12"><rect width="{width}" height="{height}" fill="white"/>',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="black"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="black"/>',
             f'<text x="{left + plot_w / 2}" y="{height - 5}" text-anchor="middle">L1 members stacked</text>',
             f'<text x="14" y="{top + plot_h / 2}" transform="rotate(-90 14 {top + plot_h / 2})" '
             'text-anchor="middle">GAP@20</text>']
    for i in range(count):
        parts.append(f'<text x="{x(i):.1f}" y="{top + plot_h + 16}" text-anchor="middle">{i + 1}</text>')
    for tick in np.arange(low, high + 1e-9, 0.01):
        parts.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:.2f}</text>'
                     f'<line x1="{left}" y1="{y(tick):.1f}" x2="{left + plot_w}" y2="{y(tick):.1f}" stroke="#ddd"/>')
    for number, (label, ys, color, dash) in enumerate(series):
        if not ys:
            continue
        path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(ys))
        parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2" '
                     f'stroke-dasharray="{dash}"/>')
        parts.extend(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{color}"/>' for i, v in enumerate(ys))
        legend_y = top + 14 + 18 * number
        parts.append(f'<line x1="{left + plot_w + 10}" y1="{legend_y - 4}" x2="{left + plot_w + 34}" '
                     f'y2="{legend_y - 4}" stroke="{color}" stroke-width="2" stroke-dasharray="{dash}"/>'
                     f'<text x="{left + plot_w + 38}" y="{legend_y}">{label}</text>')
    parts.append("</svg>\n")
    return "\n".join(parts)


def main() -> None:
    # The trainers' epoch lines, on this logger's own handler (absl's on the root drops INFO).
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
    logging.getLogger("y8m").addHandler(handler)
    logging.getLogger("y8m").setLevel(logging.INFO)
    logging.getLogger("y8m").propagate = False
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train_parser = commands.add_parser("train")
    train_parser.add_argument("--members", nargs="*", help=f"names to train (default: {PLAIN_MLP} and MEMBERS)")
    search_parser = commands.add_parser("search-plain")
    for command_parser in (train_parser, search_parser):
        command_parser.add_argument("--work", required=True, help="scratch folder for splits and predictions")
        command_parser.add_argument("--labelled", nargs="+", required=True, help="labelled video-level files (globs)")
        command_parser.add_argument("--test", nargs="+", required=True, help="test files (globs), labels for scoring")
    table_parser = commands.add_parser("table")
    table_parser.add_argument("--work", required=True)
    curve_parser = commands.add_parser("curve")
    curve_parser.add_argument("--work", required=True)
    curve_parser.add_argument("--svg", help="where to write the plot")
    curve_parser.add_argument("--seed-family", default="gated_mlp",
                              help="the member whose seed twins form the other curve")
    curve_parser.add_argument("--max-members", type=int, default=100,
                              help="stop the greedy curve at this many members")
    curve_parser.add_argument("--selection-videos", type=int, default=1000,
                              help="fold videos that train the stacks which choose the next member")
    args = parser.parse_args()
    {"train": train, "search-plain": search_plain, "table": table, "curve": curve}[args.command](args)


if __name__ == "__main__":
    main()
