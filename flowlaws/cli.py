"""The ``flowlaws`` command line.

Every user error prints one line on stderr and exits with status 2 (``--debug``
shows the traceback). ``--json`` output is one JSON object per run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from typing import Any, NoReturn, Sequence

from ._safe_text import printable

__all__ = ["main"]

DEMO_SPEC = "relu:3x4x3"


def _progress(enabled: bool, label: str):
    """The terminal progress line of a command (see :mod:`flowlaws._progress`), started."""
    from ._progress import TerminalProgress

    return TerminalProgress(enabled, label=label).start()


_MODULE_ATTR = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


_SHAPE = re.compile(r"^[1-9][0-9]{0,5}(?:x[1-9][0-9]{0,5}){1,7}$")


def _example_shape(value: str | None) -> tuple[int, ...] | None:
    """``--example-input-shape 1x3x8x8`` as a tuple (batch first)."""
    from .errors import InvalidArgument

    if value is None:
        return None
    if not _SHAPE.match(value.strip().lower()):
        raise InvalidArgument(
            f"--example-input-shape {value!r}: expected 2 to 8 positive sizes joined by x, batch first, e.g. 1x3x8x8"
        )
    return tuple(int(v) for v in value.strip().lower().split("x"))


def _model(source: str, example_shape: str | None = None, max_parameters: int | None = None):
    """The model named by a spec string, a ``GRAPH.json`` file or ``module:attr``.

    ``GRAPH.json`` holds a networkx node-link graph (``networkx.node_link_data``);
    ``module:attr`` names a Model, a ``networkx.DiGraph``, a ``torch.nn.Module``
    or a zero-argument callable returning one of those; ``example_shape``
    (``--example-input-shape``) is the input shape a torch module is traced with.
    """
    from .errors import InvalidArgument
    from .models import parse
    from .models._spec import SPEC_KINDS

    shape = _example_shape(example_shape)
    kind = source.partition(":")[0].lower()
    if shape is not None and (kind.removesuffix("+bias") in SPEC_KINDS or not _MODULE_ATTR.match(source)):
        raise InvalidArgument(
            f"--example-input-shape is for a torch module given as module:attr, not for {source!r}"
        )
    if kind.removesuffix("+bias") in SPEC_KINDS and ":" in source:
        from .models._builders import MAX_PARAMETERS

        return parse(source, max_parameters=max(max_parameters or 0, MAX_PARAMETERS))  # --max-dim raises both
    if source.lower().endswith(".json") or os.path.isfile(source):
        return _graph_file(source)
    if _MODULE_ATTR.match(source):
        return _import_model(source, shape)
    return parse(source)  # its error lists the known kinds


def _read_json(path: str, label: str, *, missing: str, invalid: str) -> Any:
    """The JSON content of ``path``; a missing, unreadable or invalid file is a one-line user error."""
    from .errors import InvalidArgument

    from .verify.checker._jsonlimits import MAX_JSON_DEPTH, json_too_deep
    from .verify.checker._varnames import strict_object

    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError as err:
        raise InvalidArgument(f"{label}: no such file; {missing}") from err
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidArgument(f"{label}: cannot read the file: {err}") from err
    deep = json_too_deep(text, MAX_JSON_DEPTH)  # before json.loads, whose recursion has no limit of its own
    if deep is not None:
        raise InvalidArgument(f"{label}: the JSON nests more than {MAX_JSON_DEPTH} brackets (at offset {deep}); {invalid}")
    try:
        return json.loads(text, object_pairs_hook=strict_object)  # a repeated key is an error, not last-one-wins
    except ValueError as err:
        raise InvalidArgument(f"{label}: not valid JSON ({err}); {invalid}") from err


def _graph_file(path: str):
    import networkx as nx

    from .errors import InvalidArgument
    from .models import from_graph

    data = _read_json(path, path, missing="give a spec such as relu:3x3x3, a GRAPH.json file or module:attr",
                      invalid="write the graph with networkx.node_link_data")
    if not isinstance(data, dict) or "nodes" not in data or not ({"edges", "links"} & set(data)):
        raise InvalidArgument(
            f"{path}: not a networkx node-link graph (expected an object with 'nodes' and 'edges'); "
            "write it with json.dump(networkx.node_link_data(G), fh)"
        )
    edges = "links" if "links" in data else "edges"
    for key, needs in (("nodes", ("id",)), (edges, ("source", "target"))):
        items = data[key]
        if not isinstance(items, list) or not all(isinstance(d, dict) and all(k in d for k in needs) for d in items):
            raise InvalidArgument(
                f"{path}: {key!r} must be a list of objects each with {' and '.join(map(repr, needs))}; "
                "write the graph with json.dump(networkx.node_link_data(G), fh)"
            )
    try:
        G = nx.node_link_graph(data, directed=True, multigraph=False, edges=edges)
    except (KeyError, TypeError, ValueError, AttributeError, nx.NetworkXError) as err:
        raise InvalidArgument(f"{path}: malformed node-link graph ({type(err).__name__}: {err})") from err
    return from_graph(G, name=os.path.basename(path))


def _metric(value: str | None):
    """``--metric``: a built-in name, or a JSON file holding a D×D matrix (rows of ints / strings)
    or a sparse object ``{"i,j": entry}``."""
    from .errors import InvalidArgument

    if value is None or not (value.lower().endswith(".json") or os.path.isfile(value)):
        return value
    data = _read_json(value, f"--metric {value}", missing="give euclidean, nmf or a JSON file with a D×D matrix",
                      invalid="write the matrix as a list of rows")
    if isinstance(data, dict):
        cells = {}
        for key, entry in data.items():
            parts = key.split(",")
            if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
                raise InvalidArgument(f"--metric {value}: key {key!r} is not 'i,j' with integers i, j")
            cells[(int(parts[0]), int(parts[1]))] = entry
        return cells
    if not isinstance(data, list):
        raise InvalidArgument(
            f"--metric {value}: expected a list of rows (e.g. [[\"x0\", 0], [0, 1]]) or an object {{\"i,j\": entry}}"
        )
    return data


def _import_model(source: str, shape: tuple[int, ...] | None = None):
    import importlib

    from .errors import FlowlawsError, InvalidArgument
    from .models import Model

    module_name, _, attr = source.partition(":")
    if os.getcwd() not in sys.path and "" not in sys.path:  # like `python -m`: the current directory
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name and module_name.startswith(err.name):
            raise InvalidArgument(
                f"{source}: no module named {err.name!r}; run from its directory or add it to PYTHONPATH "
                "(or give a spec such as relu:3x3x3)"
            ) from err
        raise InvalidArgument(f"{source}: importing {module_name!r} failed: {err}") from err
    except Exception as err:  # the user's module raised while importing
        raise InvalidArgument(f"{source}: importing {module_name!r} failed: {type(err).__name__}: {err}") from err
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise InvalidArgument(f"{source}: {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    model = _as_model(obj, source, shape)
    module_class = isinstance(obj, type) and any(
        c.__module__.startswith("torch.nn") and c.__name__ == "Module" for c in obj.__mro__)
    if model is None and callable(obj) and (not isinstance(obj, type) or module_class):  # a factory or a module class
        try:
            made = obj()
        except FlowlawsError:
            raise
        except Exception as err:
            raise InvalidArgument(f"{source}: calling {attr}() failed: {type(err).__name__}: {err}") from err
        model = _as_model(made, source, shape)
        obj = made
    if model is None:
        raise InvalidArgument(
            f"{source} is a {type(obj).__name__}; expected a flowlaws Model, a networkx.DiGraph, a torch.nn.Module "
            "or a function of no argument returning one"
        )
    if not isinstance(model, Model):  # pragma: no cover - defensive
        raise InvalidArgument(f"{source}: could not build a model")
    return model


def _as_model(obj: Any, source: str, shape: tuple[int, ...] | None = None):
    from .errors import InvalidArgument
    from .models import Model

    torch_module = any(c.__module__.startswith("torch.nn") and c.__name__ == "Module" for c in type(obj).__mro__)
    if shape is not None and not torch_module and (isinstance(obj, Model) or not callable(obj)):
        raise InvalidArgument(f"--example-input-shape is for torch modules; {source} is a {type(obj).__name__}")
    if isinstance(obj, Model):
        return obj
    if any(c.__module__.startswith("networkx") and c.__name__ == "DiGraph" for c in type(obj).__mro__):
        from .models import from_graph

        return from_graph(obj, name=source)
    if torch_module:
        from .models import from_torch

        return from_torch(obj, shape)
    return None


_NOT_DETERMINED = "the count is NOT determined"


def _analyze(args: argparse.Namespace) -> int:
    from ._analyze import analyze
    from .errors import BudgetExceeded

    model = _model(args.spec, args.example_input_shape, args.max_dim)
    options: dict[str, Any] = {}
    if args.max_dim is not None:
        options["max_dim"] = args.max_dim
    if getattr(args, "rank_proof", None) is not None:
        options["rank_proof"] = args.rank_proof
    if args.weight_decay is not None:
        options["weight_decay"] = args.weight_decay
    progress = _progress(not args.json and not args.quiet, f"flowlaws analyze {args.spec}")
    try:
        res = analyze(model, flow=args.flow, tau=args.tau, metric=_metric(args.metric), max_degree=args.max_degree,
                      progress=progress, on_interrupt="partial", **options)
    except KeyboardInterrupt:
        print(f"flowlaws: interrupted before any bound was proved; {_NOT_DETERMINED}", file=sys.stderr)
        return 130
    except BudgetExceeded as err:
        if getattr(args, "debug", False):
            raise
        msg = str(err).splitlines()[0]
        if "max_dim=" in msg and "--max-dim" not in msg:  # the library's message names max_dim=; say how here
            msg += f" (CLI: --max-dim {model.dim})" if (args.max_dim or 0) < model.dim else " (CLI: --max-dim N)"
        print(f"flowlaws: error: {printable(msg)}", file=sys.stderr)
        return 2
    finally:
        progress.close()
    if args.certificate:
        res.save(args.certificate)
    if args.json:
        print(json.dumps(res.to_json(), indent=1))
    else:
        if res.interrupted:
            lo, hi = res.bounds
            proved = "" if (lo or res.rank) else " (interrupted before any bound was proved)"
            print(f"INTERRUPTED — partial result, not certified: between {lo} and {hi} laws{proved}; "
                  f"{_NOT_DETERMINED}")
        if args.latex:
            print(res.to_latex())
        elif args.expand:
            print(res.expanded())
        else:
            print(res)
        if not res.complete and not res.interrupted:
            print(_degree_hint(res, args.max_degree))
        if args.certificate:
            print(f"certificate written to {args.certificate}")
    return 130 if res.interrupted else 0


def _degree_hint(res: Any, max_degree: int | None) -> str:
    """The one-line next step for a finished result that proves only bounds."""
    from ._analyze import DEFAULT_MAX_DEGREE

    if max_degree is None:
        max_degree = DEFAULT_MAX_DEGREE + (1 if getattr(res.flow, "name", "") == "nesterov" else 0)
    lo, hi = res.bounds
    if any("law search stopped" in note for note in res.notes):
        return (f"hint: {_NOT_DETERMINED} (between {lo} and {hi} laws); the law search hit its size budget "
                f"below degree {max_degree}, so a larger --max-degree will not help here")
    return (f"hint: {_NOT_DETERMINED} (between {lo} and {hi} laws); laws of degree up to {max_degree} were "
            f"searched: try --max-degree {max_degree + 1} or more")


#: exit status of ``flowlaws check`` when every certificate is valid but one proves only bounds
EXIT_INCOMPLETE = 3

_CHECK_EPILOG = """exit status:
  0    every certificate proves its count exactly (lower bound = upper bound)
  2    at least one certificate is rejected (or a file cannot be read)
  3    every certificate is valid, but at least one proves only bounds:
       the count is NOT determined (a Ctrl-C partial result, or --max-degree too low)
  130  interrupted (Ctrl-C)"""


def _check(args: argparse.Namespace) -> int:
    from .errors import CertificateError
    from .verify import check_certificate, read_certificate

    failed = incomplete = 0
    for done, path in enumerate(args.certificates):
        t = time.perf_counter()
        progress = _progress(not args.quiet, f"flowlaws check {path}")
        try:
            report = check_certificate(read_certificate(path), progress=progress)
        except KeyboardInterrupt:
            print(f"flowlaws: interrupted while checking {printable(path)}: {done} of {len(args.certificates)} certificate(s) "
                  f"checked, {failed} not proved", file=sys.stderr)
            return 130
        except CertificateError as err:
            failed += 1
            msg = str(err).splitlines()[0] if str(err) else type(err).__name__
            print(f"{printable(path)}: NOT PROVED {printable(msg)}", file=sys.stderr)
            continue
        finally:
            progress.close()
        proved = report.get("proved", {}) if isinstance(report, dict) else {}
        lo, hi = proved.get("lower_bound"), proved.get("upper_bound")
        seconds = f"({time.perf_counter() - t:.2f} s)"
        if lo is not None and lo == hi:
            how = f" (proved by Frobenius; {report.get('laws')} listed as polynomials)" if report.get("frobenius") else ""
            print(f"{printable(path)}: certificate verified: exactly {hi} laws{how} {seconds}")
        else:
            incomplete += 1
            print(f"{printable(path)}: certificate verified, bounds only: between {lo} and {hi} laws; {_NOT_DETERMINED} "
                  f"{seconds}")
    if failed:
        return 2
    return EXIT_INCOMPLETE if incomplete else 0


def _demo(args: argparse.Namespace) -> int:
    from ._analyze import analyze
    from .verify import check_certificate

    model = _model(DEMO_SPEC)
    print(f"flowlaws demo: gradient flow of a ReLU network {DEMO_SPEC} ({model.dim} parameters)\n")
    t = time.perf_counter()
    res = analyze(model)
    elapsed = time.perf_counter() - t
    print(res)
    t = time.perf_counter()
    check_certificate(json.loads(json.dumps(res.certificate)))
    print(f"\ncount = {res.count}; analysed in {elapsed:.2f} s; "
          f"certificate verified by the independent checker in {time.perf_counter() - t:.2f} s")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from ._analyze import compare_flows

    model = _model(args.spec, args.example_input_shape)
    rows = compare_flows(model, max_degree=args.max_degree)
    if args.json:
        print(json.dumps({"model": model.name, "rows": rows}, indent=1))
        return 0
    print(f"{printable(model.name)}: conservation laws under each flow (D = {model.dim})")
    print(f"{'flow':<22}{'dim':>6}{'laws':>8}{'rank':>8}  certified")
    for row in rows:
        label = row["flow"] + (f" tau={row['tau']}" if row.get("tau") is not None else "")
        if "error" in row:
            print(f"{label:<22}  not available: {printable(row['error'])}")
            continue
        lo, hi = row["bounds"]
        laws = str(row["count"]) if row["complete"] else f"{lo}..{hi}"
        print(f"{label:<22}{row['dim']:>6}{laws:>8}{row['rank']:>8}  {'yes' if row['complete'] else 'no (bounds)'}")
    return 0


def _bias_lab(args: argparse.Namespace) -> int:
    from .dynamics.implicit_bias import run_lab

    kwargs = {}
    if args.init_scale:
        kwargs["init_scales"] = tuple(args.init_scale)
    for name in ("steps", "seed", "n", "d", "width"):
        value = getattr(args, name)
        if value is not None:
            kwargs[name] = value
    figures = run_lab(args.out, progress=not args.quiet, **kwargs)
    if figures.get("interrupted"):
        print(f"interrupted: partial figures written to {args.out}", file=sys.stderr)
        return 130
    print(f"plots and figures.json written to {args.out}")
    after = figures.get("stable_rank_after_one_step")
    if isinstance(after, dict):
        for scale, value in after.items():
            print(f"  init scale {scale}: stable rank after one step {value:.3g}")
    return 0


def _show(args: argparse.Namespace) -> int:
    model = _model(args.spec, args.example_input_shape)
    print(f"{printable(model.name)}: D = {model.dim} parameters")
    print("parameters: " + printable(", ".join(model.variables[:40])) + (" …" if model.dim > 40 else ""))
    phi = model.phi_polynomials(max_terms=20_000)
    print(f"φ has {len(phi)} coordinates")
    for expr in model.phi[:20]:
        print(f"  {printable(expr)}")
    if len(phi) > 20:
        print("  …")
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit status 2), like every other user error."""

    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_example_shape(p: argparse.ArgumentParser) -> None:
    p.add_argument("--example-input-shape", default=None, metavar="BxCxHxW",
                   help="input shape, batch first (e.g. 1x3x8x8), with which a torch module given as module:attr "
                        "is traced; not needed when its first layer is a Linear")


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog="flowlaws", description="Exact, certified conservation laws of training dynamics.")
    parser.add_argument("--version", action="version", version=f"flowlaws {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("analyze", help="count, find and certify the laws of an architecture")
    p.add_argument("spec", metavar="SPEC|GRAPH.json|module:attr",
                   help="architecture: a spec such as relu:3x3x3, linear:2x5x2, relu+bias:2x3x2, sym:3x2; "
                        "a networkx node-link GRAPH.json; or module:attr naming a Model, DiGraph, torch module "
                        "or a function returning one")
    _add_example_shape(p)
    p.add_argument("--flow", default="gradient", help="gradient (default), momentum, nesterov, sign (sign-GD) or adam "
                   "(θ' = −P∇L, P any positive diagonal); sign and adam count the laws near a point")
    p.add_argument("--tau", default=None, help="exact damping of --flow momentum, e.g. 1 or 1/2 (default 1)")
    p.add_argument("--weight-decay", default=None, metavar="LAMBDA",
                   help="exact weight decay λ of --flow gradient or momentum (θ' = −∇L − λθ), e.g. 1/10; gradient-flow laws "
                        "gain a factor exp(dλt)")
    p.add_argument("--metric", default=None, help="euclidean, nmf, or a JSON file with a D×D matrix of polynomials/rationals "
                   "(rows of ints or strings such as \"1/(1 + x0^2)\", or {\"i,j\": entry}); default: the model's own")
    p.add_argument("--max-degree", type=int, default=None,
                   help="largest degree of the law search (default 4, 5 for nesterov); raise it when the result "
                        "proves only bounds")
    p.add_argument("--max-dim", type=int, default=None, metavar="N",
                   help="refuse models with more than N parameters (default 20000); raise it to try a larger model")
    p.add_argument("--rank-proof", choices=("auto", "dense", "triangular"), default=None,
                   help="how the rank is proved: triangular (layered ReLU MLPs: one path per pivot, checked in time "
                        "linear in D), dense (bracket words), auto (default: triangular for such MLPs from D = 2000)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON object (stable keys, see the README)")
    out.add_argument("--latex", action="store_true", help="print the laws as a LaTeX align* block")
    out.add_argument("--expand", action="store_true", help="print every law fully expanded (default: grouped)")
    p.add_argument("--certificate", metavar="OUT.json", help="write the certificate")
    p.add_argument("--quiet", action="store_true",
                   help="no progress display (progress is shown on stderr only when it is a terminal)")
    p.set_defaults(func=_analyze)

    p = sub.add_parser("check", help="verify certificates with the independent checker", epilog=_CHECK_EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("certificates", nargs="+", metavar="CERT.json",
                   help="certificate files written by flowlaws analyze --certificate or Result.save")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=_check)

    p = sub.add_parser("demo", help="analyse a built-in example and verify its certificate")
    p.set_defaults(func=_demo)

    p = sub.add_parser("compare", help="count the laws under every flow side by side")
    p.add_argument("spec", metavar="SPEC|GRAPH.json|module:attr",
                   help="architecture, as for flowlaws analyze (a spec such as relu:3x3x3, GRAPH.json or module:attr)")
    p.add_argument("--max-degree", type=int, default=None,
                   help="largest degree of the law search under every flow (default: each flow's own)")
    p.add_argument("--json", action="store_true", help="print one JSON object with a row per flow")
    _add_example_shape(p)
    p.set_defaults(func=_compare)

    p = sub.add_parser("bias-lab", help="the leaky-ReLU implicit-bias experiment: plots and figures.json",
                       epilog="With the defaults it runs for about 1.5 minutes on two cores (see the runtime table "
                              "in the CLI reference); the progress line names each phase.")
    p.add_argument("--out", required=True, metavar="DIR", help="directory for the PNG plots and figures.json "
                   "(created if missing)")
    p.add_argument("--init-scale", type=float, action="append",
                   help="standard deviation of the first layer at initialisation; repeat for several scales "
                        "(default 1e-6, 1e-4, 1e-3, 1e-2, 1e-1)")
    p.add_argument("--steps", type=int, default=None, help="gradient-descent steps per init scale (default 1000)")
    p.add_argument("--seed", type=int, default=None, help="seed of the data and the initialisations (default 0)")
    p.add_argument("--n", type=int, default=None, help="number of data points (default 50)")
    p.add_argument("--d", type=int, default=None, help="input dimension (default 2000)")
    p.add_argument("--width", type=int, default=None, help="hidden neurons (default 100)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_bias_lab)

    p = sub.add_parser("show", help="show an architecture's parameters and path-lifting")
    p.add_argument("spec", metavar="SPEC|GRAPH.json|module:attr",
                   help="architecture, as for flowlaws analyze (a spec such as relu:3x3x3, GRAPH.json or module:attr)")
    _add_example_shape(p)
    p.set_defaults(func=_show)

    from .sweep.cli import add_parser as add_sweep_parser

    add_sweep_parser(sub)
    for command in sub.choices.values():  # `flowlaws analyze X --debug` as well as `flowlaws --debug analyze X`
        try:
            command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                                 help="show tracebacks of errors")
        except argparse.ArgumentError:
            pass
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    from .errors import FlowlawsError

    for stream in (sys.stdout, sys.stderr):  # laws print with ‖·‖², ᵀ, −: never fail on a narrow encoding
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("flowlaws: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `flowlaws analyze ... | head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except (FlowlawsError, OSError) as err:
        if args.debug:
            raise
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        print(f"flowlaws: error: {printable(msg)}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
