"""Command line: ``python -m explorer {train,evaluate,embed-train,score,info,export-html,render-tour}``.

The flags of ``train`` are generated from the fields of ``ModelConfig`` and ``TrainConfig``, one flag
per field, so the CLI cannot drift from the configs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import types
import typing
from pathlib import Path
from typing import Any

from explorer.config import ModelConfig, TrainConfig, field_help
from explorer.errors import ExplorerError, is_disk_full

log = logging.getLogger("explorer")

MODEL_FLAGS_SKIPPED = ("image_shape",)  # read from the dataset, never typed


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_config_flags(parser: argparse.ArgumentParser, cls: type, title: str, skip: tuple[str, ...] = ()) -> None:
    """One flag per dataclass field. Defaults are None, so we can tell which flags the user typed."""
    hints = typing.get_type_hints(cls)
    helps = field_help(cls)
    group = parser.add_argument_group(f"{title} (fields of {cls.__name__})")
    for field in dataclasses.fields(cls):
        if field.name in skip:
            continue
        kind = _unwrap_optional(hints[field.name])
        text = f"{helps.get(field.name, '')} (default: {field.default})"
        kwargs: dict[str, Any] = {"default": None, "help": text, "dest": field.name}
        if kind is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(kind) is typing.Literal:
            kwargs["choices"] = typing.get_args(kind)
        elif typing.get_origin(kind) is tuple:
            kwargs.update(type=typing.get_args(kind)[0], nargs="+")
        else:
            kwargs["type"] = kind
        group.add_argument(_flag(field.name), **kwargs)


def _unwrap_optional(hint: Any) -> Any:
    """``int | None`` -> ``int``: a flag that is not given is None anyway."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return next(a for a in typing.get_args(hint) if a is not type(None))
    return hint


def given(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The fields of ``cls`` the user typed on the command line."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: (tuple(v) if isinstance(v, list) else v) for k, v in vars(args).items() if k in names and v is not None}


def cmd_train(args: argparse.Namespace) -> int:
    from explorer import checkpoint as ckpt
    from explorer.train import train

    from explorer.data import canonical_name

    model_flags, train_flags = given(args, ModelConfig), given(args, TrainConfig)
    model_flags.pop("image_shape", None)
    if "dataset" in train_flags:  # 'Fashion-MNIST' is fashion-mnist; 'data/' is the folder 'data'
        train_flags["dataset"] = canonical_name(train_flags["dataset"])
    if args.resume:
        if args.out is None:
            raise ExplorerError("--resume needs --out: the folder of the run to continue.")
        model_config, train_config, _ = ckpt.read_config(Path(args.out))
    else:
        model_config, train_config = ModelConfig(), TrainConfig()
    try:  # the configs check their values; a wrong flag is the user's to fix, not a traceback
        # Flags typed again on --resume must agree with the run: train() refuses any change but RESUMABLE_OVERRIDES.
        model_config = dataclasses.replace(model_config, **model_flags)
        train_config = dataclasses.replace(train_config, **train_flags)
    except ValueError as err:
        raise ExplorerError(f"{err}. Fix that flag (see `python -m explorer train --help`).") from err
    if train_config.lr <= 0 or train_config.weight_decay < 0:
        raise ExplorerError(f"--lr must be above 0 and --weight-decay at least 0, got {train_config.lr} and "
                            f"{train_config.weight_decay}.")
    out = Path(args.out or Path("trained") / f"{Path(train_config.dataset).stem}-d{model_config.latent_dim}")
    train(model_config, train_config, out, resume=args.resume, progress=not args.quiet)
    if int(os.environ.get("RANK", "0")) == 0:
        print(out)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from explorer import checkpoint as ckpt
    from explorer.evaluate import evaluate

    checkpoint = ckpt.load(args.checkpoint)
    result = evaluate(checkpoint, iwae_k=args.iwae_k, device=args.device, data_dir=args.data_dir,
                      dataset=args.dataset, labels=args.labels, class_names=args.class_names, seed=args.seed,
                      progress=not args.quiet)
    if args.save:
        from explorer.metrics import Scores

        ckpt.write_metrics(checkpoint.path, dataclasses.replace(checkpoint.metrics, evaluation=Scores.from_json(result)))
    if args.json:
        print(json.dumps(result))
    else:
        keys = ("neg_elbo", "recon", "kl", "nll_iwae", "active_units", "collapsed_dims")
        print("\n".join(f"{k:>13}: {result[k]:.2f}" if isinstance(result[k], float) else f"{k:>13}: {result[k]}"
                        for k in keys if k in result))
    return 0


def cmd_embed_train(args: argparse.Namespace) -> int:
    """Encode the checkpoint's training split and fit one t-SNE of the whole dataset; cache both beside it."""
    import time

    from explorer import checkpoint as ckpt
    from explorer.data import load_dataset
    from explorer.devices import resolve_device
    from explorer.embedding import encode_training_split, umap_available

    checkpoint = ckpt.load(args.checkpoint, device=resolve_device(args.device))
    tc = checkpoint.train_config
    data = load_dataset(args.dataset or checkpoint.dataset, data_dir=args.data_dir or tc.data_dir,
                        image_size=tc.image_size, download=False, labels=tc.labels, class_names=tc.class_names)
    test = ckpt.load_embedding(checkpoint.path)
    t0 = time.perf_counter()
    if args.umap and not umap_available():
        raise ExplorerError("embed-train --umap needs umap-learn: pip install umap-learn, or leave out --umap.")
    codes = encode_training_split(checkpoint.model, data.train.images, data.train.labels, test.mu,
                                  tsne=not args.no_tsne, umap=args.umap, seed=tc.seed, progress=not args.quiet)
    ckpt.save_train_codes(checkpoint.path, codes)
    size = (checkpoint.path / ckpt.TRAIN_CODES_FILE).stat().st_size
    maps = [name for name, on in (("a t-SNE", not args.no_tsne), ("a UMAP", args.umap)) if on]
    of_all = f" and {' and '.join(maps)} of all {len(test.mu) + len(codes.mu):,}" if maps else ""
    print(f"{len(codes.mu):,} training codes{of_all} in {time.perf_counter() - t0:.0f} s: "
          f"{checkpoint.path / ckpt.TRAIN_CODES_FILE} ({size / 1e6:.1f} MB)")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    """Score every test image (-ELBO, its terms, -IWAE_k, their gap) and cache the scores beside the checkpoint."""
    import time

    import numpy as np

    from explorer import checkpoint as ckpt
    from explorer.data import load_dataset
    from explorer.devices import resolve_device
    from explorer.evaluate import per_image_scores

    if args.k < 1:
        raise ExplorerError(f"--k must be at least 1, got {args.k}.")
    checkpoint = ckpt.load(args.checkpoint, device=resolve_device(args.device))
    tc = checkpoint.train_config
    test = load_dataset(args.dataset or checkpoint.dataset, data_dir=args.data_dir or tc.data_dir,
                        image_size=tc.image_size, download=False, test_only=True, labels=tc.labels,
                        class_names=tc.class_names).test
    points = len(ckpt.load_embedding(checkpoint.path).mu)
    if len(test.images) != points:
        raise ExplorerError(f"the test split on disk has {len(test.images)} images, the model's map {points}; "
                            "point --dataset or --data-dir at the data it was trained on.")
    t0 = time.perf_counter()
    scores = per_image_scores(checkpoint.model, test.images, args.k, seed=tc.seed, progress=not args.quiet)
    ckpt.save_scores(checkpoint.path, scores, args.k)
    worst = np.argsort(scores["nelbo"])[::-1][:5]
    print(f"{points:,} test images scored with {args.k} draws each in {time.perf_counter() - t0:.0f} s: "
          f"mean -ELBO {scores['nelbo'].mean():.2f}, -IWAE {scores['nll_iwae'].mean():.2f}, gap "
          f"{scores['gap'].mean():.2f} nats; worst: {', '.join(f'#{i}' for i in worst)} "
          f"({checkpoint.path / ckpt.SCORES_FILE})")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from explorer import checkpoint as ckpt
    from explorer.model import count_parameters

    c = ckpt.load(args.checkpoint)
    mc, m = c.model_config, c.metrics
    test = m.latest  # a later `evaluate --save` holds the fuller numbers
    lines = [
        f"{c.path}",
        f"  dataset      {c.dataset}  {'x'.join(map(str, mc.image_shape))}  classes: {', '.join(c.class_names) or '-'}",
        f"  model        {mc.architecture} {list(mc.hidden_dims)}  latent_dim {mc.latent_dim}  {mc.likelihood}"
        f"  {count_parameters(c.model):,} parameters",
        f"  training     {_count(m.epochs, 'epoch')} (best {m.best_epoch or '?'}) on {m.device_name or '?'} "
        f"in {m.wall_seconds or 0:.0f} s wall clock ({m.train_seconds or 0:.0f} s in the epochs themselves)  "
        f"[{_status(m, c.path)}]",
    ]
    if test:
        lines.append(f"  test         neg ELBO {test.neg_elbo:.2f}  recon {test.recon:.2f}  KL {test.kl:.2f}"
                     f"  active units {test.active_units}/{mc.latent_dim}"
                     + (f"  collapsed dims {test.collapsed_dims}" if test.collapsed_dims is not None else ""))
    if m.evaluation is not None and m.evaluation.nll_iwae is not None:
        lines.append(f"  IWAE         NLL <= {m.evaluation.nll_iwae:.2f} (k={m.evaluation.iwae_k})")
    print("\n".join(lines))
    return 0


def cmd_export_html(args: argparse.Namespace) -> int:
    from explorer import standalone

    tour = None
    if args.tour:
        try:
            tour = json.loads(Path(args.tour).read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise standalone.StandaloneError(f"cannot read the tour {args.tour}: {err}. Give a JSON list of stops, "
                                             'each {"z": [...], "caption": "...", "seconds": 2}') from err
    out = Path(args.out or f"{Path(args.checkpoint).resolve().name}.html")
    size = standalone.write(args.checkpoint, out, projection=args.projection, tour=tour, thumbnails=args.thumbnails)
    note = "" if size <= standalone.EMAIL_BUDGET_BYTES else (
        f" (over the {standalone.EMAIL_BUDGET_BYTES / 2**20:.0f} MB email budget: try --thumbnails with fewer)")
    print(f"{out} {size:,} bytes ({size / 2**20:.1f} MB){note}")
    return 0


def cmd_render_tour(args: argparse.Namespace) -> int:
    import time

    from tqdm.auto import tqdm

    from explorer import tours, video

    try:
        tour = json.loads(Path(args.tour).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise video.VideoError(f"cannot read the tour {args.tour}: {err}. Give a JSON list of stops, "
                               f"each {tours.STOP_EXAMPLE}") from err
    out = Path(args.out or f"{Path(args.checkpoint).resolve().name}-tour.mp4")
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in video.FORMATS:
        raise video.VideoError(f"{out}: the file name must end in {' or '.join('.' + f for f in video.FORMATS)}")
    if not out.parent.is_dir():  # before the render, not after it
        raise video.VideoError(f"{out.parent} is not a folder: make it, or give -o a path in an existing one")
    start = time.perf_counter()
    bars = []  # made on the first frame, once the tour is read and checked: a bad tour prints no empty bar
    frames = 0

    def progress(done: int, total: int) -> None:
        nonlocal frames
        if not bars:
            bars.append(tqdm(total=total, desc=f"render {out.name}", unit="frame", disable=args.quiet,
                             file=sys.stderr, leave=False))
        bars[0].update(done - bars[0].n)
        frames = total

    try:
        data = video.render(args.checkpoint, tour, size=args.size, fps=args.fps, fmt=fmt, projection=args.projection,
                            progress=progress)
    finally:
        for bar in bars:
            bar.close()
    out.write_bytes(data)
    fps = video.gif_fps(args.fps) if fmt == "gif" else args.fps
    print(f"{out} {frames} frames {args.size} {fps:g} fps, {(frames - 1) / fps:.1f} s of tour, "
          f"{len(data):,} bytes, rendered in {time.perf_counter() - start:.1f} s")
    return 0


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _status(metrics: Any, path: Path) -> str:
    """'complete', 'running (pid 123)', or a killed run shown as interrupted, with the command that resumes it."""
    if metrics.status != "running":
        return metrics.status
    if metrics.still_running():
        return f"running (pid {metrics.pid} on {metrics.host})"
    return (f"interrupted after {_count(metrics.epochs, 'epoch')}: continue with "
            f"`python -m explorer train --resume --out {path}`")


def _add_quiet(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument("-q", "--quiet", action="store_true", default=default, help="no progress bars or log lines")


def _closest_flags(parser: argparse.ArgumentParser, unknown: list[str]) -> str:
    """' Did you mean --latent-dim?' for the unknown flags that look like one of ``parser``'s."""
    import difflib

    flags = [s for action in parser._actions for s in action.option_strings if s.startswith("--")]
    hints = {}  # typed -> closest flag
    for arg in unknown:
        if arg.startswith("-"):
            typed = arg.split("=", 1)[0]
            hints.update({typed: close[0] for close in [difflib.get_close_matches(typed, flags, n=1)] if close})
    if len(hints) == 1:
        return f" Did you mean {next(iter(hints.values()))}?"
    return f" Did you mean {', '.join(f'{flag} for {typed}' for typed, flag in hints.items())}?" if hints else ""


def build_parser() -> argparse.ArgumentParser:
    from explorer.evaluate import DEFAULT_IWAE_K

    # allow_abbrev=False: argparse would otherwise take --epoch for --epochs without a word
    parser = argparse.ArgumentParser(prog="python -m explorer", description="Latent Explorer: train and evaluate VAEs.",
                                     allow_abbrev=False)
    _add_quiet(parser, default=False)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a VAE into a checkpoint folder", allow_abbrev=False)
    _add_quiet(p, default=argparse.SUPPRESS)  # before or after the command; SUPPRESS keeps a -q given before
    p.add_argument("--out", help="checkpoint folder to write (default: trained/<dataset>-d<latent_dim>)")
    p.add_argument("--resume", action="store_true", help="continue the interrupted run in --out")
    add_config_flags(p, ModelConfig, "model", skip=MODEL_FLAGS_SKIPPED)
    add_config_flags(p, TrainConfig, "training")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="test-split negative ELBO, IWAE bound, active units", allow_abbrev=False)
    _add_quiet(p, default=argparse.SUPPRESS)
    p.add_argument("checkpoint", help="checkpoint folder, e.g. trained/digits")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--iwae-k", type=int, default=DEFAULT_IWAE_K, help="importance samples per image (0 skips IWAE)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--data-dir", help="extra folder to look for a named dataset's files in (fashion-mnist, mnist)")
    p.add_argument("--dataset", help="where the model's own dataset file or folder is now, if it has moved")
    p.add_argument("--labels", help="where the dataset's labels file (train --labels) is now, if it has moved")
    p.add_argument("--class-names", help="where its class-names file (train --class-names) is now, if it has moved")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save", action="store_true", help="also record the result in the checkpoint's metrics.json")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("embed-train", help="encode the training split and map the whole dataset (t-SNE), cached "
                       "beside the checkpoint for the app's map", allow_abbrev=False)
    _add_quiet(p, default=argparse.SUPPRESS)
    p.add_argument("checkpoint", help="checkpoint folder, e.g. trained/fashion-mnist-d16")
    p.add_argument("--no-tsne", action="store_true", help="the codes only (the PCA map needs nothing more)")
    p.add_argument("--umap", action="store_true", help="also a UMAP of the whole dataset (needs umap-learn)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--data-dir", help="extra folder to look for a named dataset's files in (fashion-mnist, mnist)")
    p.add_argument("--dataset", help="where the model's own dataset file or folder is now, if it has moved")
    p.set_defaults(func=cmd_embed_train)

    p = sub.add_parser("score", help="score every test image (-ELBO, its terms, IWAE) for the map's colours, "
                       "cached beside the checkpoint", allow_abbrev=False)
    _add_quiet(p, default=argparse.SUPPRESS)
    p.add_argument("checkpoint", help="checkpoint folder, e.g. trained/fashion-mnist-d16")
    p.add_argument("--k", type=int, default=100, help="draws of q(z|x) per image (default 100)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--data-dir", help="extra folder to look for a named dataset's files in (fashion-mnist, mnist)")
    p.add_argument("--dataset", help="where the model's own dataset file or folder is now, if it has moved")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("export-html", help="the explorer as one offline HTML file (map, decoder, sliders, tour)",
                       allow_abbrev=False)
    _add_quiet(p, default=argparse.SUPPRESS)
    p.add_argument("checkpoint", help="checkpoint folder, e.g. trained/fashion-mnist-d16")
    p.add_argument("-o", "--out", help="the HTML file to write (default: <checkpoint name>.html)")
    p.add_argument("--projection", choices=("pca", "tsne", "latent"),
                   help="the map (default: the latent plane of a 2-D model, else PCA)")
    p.add_argument("--tour", help='a JSON file: a list of stops {"z": [...], "caption": "...", "seconds": 2}')
    p.add_argument("--thumbnails", type=int, default=None, help="test images kept as hover thumbnails "
                   "(default 4000: keeps every shipped model under 10 MB)")
    p.set_defaults(func=cmd_export_html)

    p = sub.add_parser("render-tour", help="a tour rendered to a video (MP4 or GIF, by the file name) for a talk",
                       allow_abbrev=False)
    _add_quiet(p, default=argparse.SUPPRESS)
    p.add_argument("checkpoint", help="checkpoint folder, e.g. trained/fashion-mnist-d16")
    p.add_argument("tour", help='a JSON file: a list of stops {"z": [...], "caption": "...", "seconds": 2}')
    p.add_argument("-o", "--out", help="the .mp4 or .gif to write (default: <checkpoint name>-tour.mp4)")
    p.add_argument("--size", default="1280x720", choices=("1280x720", "1920x1080"))
    p.add_argument("--fps", type=float, default=30, help="frames per second (a GIF gets at most 25)")
    p.add_argument("--projection", default="pca", choices=("pca", "tsne"), help="the map (default: pca, exact)")
    p.set_defaults(func=cmd_render_tour)

    p = sub.add_parser("info", help="a short summary of a checkpoint", allow_abbrev=False)
    _add_quiet(p, default=argparse.SUPPRESS)
    p.add_argument("checkpoint")
    p.set_defaults(func=cmd_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said by the subcommand's parser, with its usage, not the top-level one
        subparser = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[args.command]
        subparser.error(f"unrecognized arguments: {' '.join(unknown)}.{_closest_flags(subparser, unknown)}")
    if int(os.environ.get("RANK", "0")) > 0:
        args.quiet = True  # under torchrun, rank 0 alone reports progress
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    try:
        code = args.func(args)
        sys.stdout.flush()  # here, not at exit: a reader that left (`info | head`) is then caught below
        return code
    except ExplorerError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `info | head` left before reading all: the Python docs' "Note on SIGPIPE"
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the flush at exit has somewhere to go and says nothing
        return 1  # what Python itself exits with on EPIPE
    except OSError as err:  # a full disk or an unwritable folder is for the user to fix, not a bug to trace
        log.debug("Details:", exc_info=True)
        fix = "Free some disk space" if is_disk_full(err) else "Check the path and its permissions"
        print(f"error: {err}. {fix}, then run the command again.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: the last completed epoch is saved; continue with --resume", file=sys.stderr)
        return 130
