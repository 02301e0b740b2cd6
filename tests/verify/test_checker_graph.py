"""The checker's ``"graph"`` models: parsing, path-lifting, words on jets, laws (explicit and local).

Oracles: a brute-force enumeration of the paths written here (for φ and
``F_a``), the ``"network"`` model of the checker (a layered MLP written as a
graph gives the same words), the expanded polynomial route (jets agree with
it), and the engine's counts and laws (``fl.analyze``) for the certificates.
"""

from __future__ import annotations

import copy
import json
import random
from fractions import Fraction

import pytest

import flowlaws as fl
from flowlaws.errors import CertificateError
from flowlaws.verify.checker import LIMITS, check_certificate
from flowlaws.verify.checker._flows import FlowSpec, LiftedGenerators
from flowlaws.verify.checker._graph import parse_graph
from flowlaws.verify.checker._graph_eval import GraphWords
from flowlaws.verify.checker._model import _Generators, parse_model
from flowlaws.verify.checker._modp import Echelon, WordEvaluator
from flowlaws.verify.checker._network import Network, z
from flowlaws.verify.checker._network_eval import NetworkWords

P = 16777213
pytest.importorskip("numpy")
nx = pytest.importorskip("networkx")


# -- building graphs ----------------------------------------------------------------------------
def layered_graph(layers, acts, bias):
    """A layered MLP as a ``"graph"`` model: nodes layer by layer, one bias node per layer right before
    the neurons it feeds; parameters in the ``"network"`` order (W1 row-major, b1, W2, ...)."""
    nodes, index = [], {}
    L = len(layers) - 1
    for l, n in enumerate(layers):
        if bias and l >= 1:
            index[("b", l)] = len(nodes)
            nodes.append(["bias"])
        for i in range(n):
            index[(l, i)] = len(nodes)
            nodes.append(["input"] if l == 0 else ["output"] if l == L else ["hidden", acts[l - 1]])
    edges, pos = [], 0
    for l in range(1, L + 1):
        for i in range(layers[l]):
            for j in range(layers[l - 1]):
                edges.append([index[(l - 1, j)], index[(l, i)], pos])
                pos += 1
        if bias:
            for i in range(layers[l]):
                edges.append([index[("b", l)], index[(l, i)], pos])
                pos += 1
    return {"kind": "graph", "nodes": nodes, "edges": edges}


def _node(kind, act=None):
    return (kind, act)


# compact architectures: nodes {name: (kind, activation)} in topological order, edges (u, v, param name | Fraction)
def residual():
    nodes = {"x0": _node("input"), "x1": _node("input"), "b": _node("bias"),
             "h0": _node("hidden", "relu"), "h1": _node("hidden", "relu"), "l": _node("hidden", "linear"),
             "y0": _node("output"), "y1": _node("output")}
    edges = [("x0", "h0", "a0"), ("x1", "h0", "a1"), ("b", "h0", "c0"), ("x0", "h1", "a2"), ("x1", "h1", "a3"),
             ("b", "h1", "c1"), ("h0", "l", "d0"), ("h1", "l", "d1"), ("l", "y0", "e0"), ("l", "y1", "e1"),
             ("x0", "y0", Fraction(1)), ("x1", "y1", Fraction(1)), ("h0", "y1", "f0")]
    return nodes, edges


def shared():
    nodes = {f"x{i}": _node("input") for i in range(4)}
    nodes |= {f"h{i}": _node("hidden", "relu") for i in range(3)}
    nodes["y"] = _node("output")
    edges = [(f"x{i + t}", f"h{i}", f"k{t}") for i in range(3) for t in range(2)]
    edges += [(f"h{i}", "y", f"v{i}") for i in range(3)]
    return nodes, edges


def frozen():
    nodes = {"x0": _node("input"), "x1": _node("input"), "b": _node("bias"), "g": _node("hidden", "leaky_relu"),
             "m": _node("hidden", "linear"), "h": _node("hidden", "relu"), "y": _node("output")}
    edges = [("x0", "g", "a"), ("x1", "g", "b1"), ("b", "g", "c"), ("g", "m", Fraction(-3, 2)), ("x1", "m", "d"),
             ("m", "h", "e"), ("g", "h", "f"), ("h", "y", "o"), ("x0", "y", Fraction(2, 3)), ("b", "y", "q")]
    return nodes, edges


ARCHS = {"residual": residual, "shared": shared, "frozen": frozen}


def to_nx(arch):
    nodes, edges = arch
    G = nx.DiGraph()
    for name, (kind, act) in nodes.items():
        G.add_node(name, kind=kind, **({"activation": act} if act else {}))
    for u, v, w in edges:
        if isinstance(w, Fraction):
            G.add_edge(u, v, trainable=False, value=w)
        else:
            G.add_edge(u, v, param=w)
    return G


def to_json(arch, variables):
    """The ``"graph"`` model with parameter index = position of its name in ``variables``."""
    nodes, edges = arch
    order = list(nodes)
    return {
        "kind": "graph",
        "nodes": [[k] if a is None else [k, a] for k, a in nodes.values()],
        "edges": [[order.index(u), order.index(v), str(w) if isinstance(w, Fraction) else variables.index(w)]
                  for u, v, w in edges],
    }


def brute_phi(model):
    """φ by enumerating every path: {key: {monomial(sorted (var, exp)): Fraction}}."""
    nodes, edges = model["nodes"], model["edges"]
    C = sum(1 for n in nodes if n[0] != "bias")
    num, k = [], 0
    for n in nodes:
        num.append(C if n[0] == "bias" else k)
        k += n[0] != "bias"
    out_edges = {}
    for s, d, w in edges:
        out_edges.setdefault(s, []).append((d, w))
    phi = {}

    def walk(v, start, gates, mono, coef):
        if nodes[v][0] == "output":
            key = (start, tuple(gates), num[v])
            m = tuple(sorted(mono.items()))
            phi.setdefault(key, {})
            phi[key][m] = phi[key].get(m, 0) + coef
            return
        for d, w in out_edges.get(v, []):
            g2 = gates + [num[d]] if nodes[d][0] == "hidden" and nodes[d][1] != "linear" else gates
            if isinstance(w, str):
                walk(d, start, g2, mono, coef * Fraction(w))
            else:
                m2 = dict(mono)
                m2[w] = m2.get(w, 0) + 1
                walk(d, start, g2, m2, coef)

    for v, n in enumerate(nodes):
        if n[0] in ("input", "bias"):
            walk(v, num[v], [], {}, Fraction(1))
    return phi, num


# -- certificates --------------------------------------------------------------------------------
def candidate_words(n_leaves, rng, count=400):
    leaves = list(range(n_leaves))
    words = [(a) for a in leaves]
    words += [(a, b) for a in leaves for b in leaves if a < b]
    for _ in range(count):
        a, b, c = (rng.choice(leaves) for _ in range(3))
        words.append((a, (b, c)))
        d = rng.choice(leaves)
        words.append((d, (a, (b, c))))
    return words


def build_cert(model, variables, flow, laws, *, seed=0, leaves=12, rng_seed=0, target=None):
    """A certificate for ``model`` whose words are picked greedily (rank as high as they reach)."""
    rng = random.Random(rng_seed)
    spec = FlowSpec(flow["name"], flow.get("metric", "euclidean"), Fraction(flow["tau"]) if "tau" in flow else None)
    g = parse_graph(model, None)
    dim = spec.dim(g.dim)
    point = [rng.randrange(-1000, 1000) for _ in range(dim)]
    words = candidate_words(leaves, rng)
    values = GraphWords(g, seed=seed, p=P, point=point, flow=spec).values(words)
    ech, chosen = Echelon(P, dim), []
    for w, row in zip(words, values):
        if ech.add({i: int(x) for i, x in enumerate(row) if x}):
            chosen.append(w)
        if target is not None and ech.rank == target:
            break
    rank = ech.rank
    ipoint = [rng.randrange(-1000, 1000) for _ in range(dim)]

    def js(w):
        return list(map(js, w)) if isinstance(w, tuple) else w

    return {
        "schema": "flowlaws-certificate/1", "dim": dim, "variables": spec.phase_names(variables), "model": model,
        "flow": flow, "generators": {"kind": "network-combinations", "seed": seed},
        "rank": {"prime": P, "point": point, "words": [js(w) for w in chosen], "value": rank},
        "laws": laws, "independence": {"prime": P, "point": ipoint, "value": len(laws)},
        "bounds": {"lower": len(laws), "upper": dim - rank}, "count": dim - rank,
        "complete": len(laws) == dim - rank,
    }


def engine_cert(name, flow="gradient", **kw):
    """(graph certificate built from the engine's laws and count, the engine's count)."""
    arch = ARCHS[name]()
    res = fl.analyze(fl.models.from_graph(to_nx(arch)), flow=flow, **kw)
    ecert = res.certificate
    D = len({w for _, _, w in arch[1] if not isinstance(w, Fraction)})
    variables = ecert["variables"] if flow == "gradient" else ecert["variables"][1 : D + 1]
    cert = build_cert(to_json(arch, variables), variables, ecert["flow"], ecert["laws"], target=res.dim - res.count)
    return cert, res


# -- (a) layered MLPs ----------------------------------------------------------------------------------
FLOWS = [FlowSpec("gradient"), FlowSpec("gradient", "nmf"), FlowSpec("momentum", tau=Fraction(1, 2)),
         FlowSpec("momentum", tau=Fraction(0)), FlowSpec("nesterov"), FlowSpec("momentum", "nmf", Fraction(2))]


@pytest.mark.parametrize("layers,acts,bias", [((2, 3, 2), ("relu",), True), ((3, 2, 2, 2), ("relu", "linear"), True),
                                              ((2, 2, 1), ("leaky_relu",), False), ((2, 3), (), True)])
@pytest.mark.parametrize("flow", FLOWS, ids=lambda f: f.describe())
def test_layered_graph_gives_the_network_words(layers, acts, bias, flow):
    net = Network(layers, acts, bias)
    g = parse_graph(layered_graph(layers, acts, bias), net.dim)
    assert [k for k, _ in g.coordinates()] == [k for k, _ in net.coordinates()]
    assert [f for _, f in g.coordinates()] == [f for _, f in net.coordinates()]
    rng = random.Random(len(layers))
    point = [rng.randrange(-99, 99) for _ in range(flow.dim(net.dim))]
    words = [3, (1, 2), (0, (4, 5)), ((1, 2), (3, (0, 1))), (7, (8, (9, (10, 11))))]
    a = NetworkWords(net, seed=5, p=P, point=point, flow=flow).values(words)
    b = GraphWords(g, seed=5, p=P, point=point, flow=flow).values(words)
    assert (a == b).all()


@pytest.mark.parametrize("spec,flow", [("relu+bias:2x3x2", "gradient"), ("relu:3x4x3", "momentum"),
                                       ("leaky:3x4x1", "gradient"), ("linear:2x3x2", "nesterov"),
                                       ("relu+bias:3x3x3", "gradient")])
def test_engine_network_certificates_verify_as_graphs(spec, flow):
    res = fl.analyze(fl.models.parse(spec), flow=flow)
    cert = copy.deepcopy(res.certificate)
    md = cert["model"]
    assert md["kind"] == "network"
    cert["model"] = layered_graph(md["layers"], md["activations"], md["bias"])
    report = check_certificate(json.loads(json.dumps(cert)))
    assert report["proved"] == check_certificate(res.certificate)["proved"]
    assert report["routes"]["words"] == "jets"


def test_large_layered_graph_checks_laws_by_segments():
    res = fl.analyze(fl.models.parse("relu:4x12x12x12x4"))
    cert = copy.deepcopy(res.certificate)
    md = cert["model"]
    cert["model"] = layered_graph(md["layers"], md["activations"], md["bias"])
    assert parse_graph(cert["model"], cert["dim"]).path_count() > LIMITS["explicit_law_paths"]
    report = check_certificate(cert)
    assert report["routes"] == {"words": "jets", "laws": "segments"}
    assert report["proved"]["exact"] and report["laws"] == res.count == 36
    bad = copy.deepcopy(cert)
    bad["laws"][5] = bad["laws"][5] + [["1", [[0, 1], [200, 1]]]]
    with pytest.raises(CertificateError, match="not proved conserved") as info:
        check_certificate(bad)
    assert info.value.step == "laws"


# -- (b) residual, shared and frozen weights: φ, F_a and words against the expansion -------------------
@pytest.mark.parametrize("name", sorted(ARCHS))
def test_phi_and_combinations_match_brute_force(name):
    arch = ARCHS[name]()
    variables = sorted({w for _, _, w in arch[1] if not isinstance(w, Fraction)})
    model = to_json(arch, variables)
    g = parse_graph(model, len(variables))
    phi, num = brute_phi(model)
    got = g.expand()
    assert [k for k, _, _ in got] == sorted(phi)
    for key, poly, den in got:
        want = {tuple((v, e) for v, e in m): c * den for m, c in phi[key].items() if c}
        assert {m: Fraction(c) for m, c in poly.terms.items()} == want
    for a in range(4):
        total = {}
        for (s, hidden, o), terms in phi.items():
            c = z(3, a, s, P) * z(3, a, o, P)
            for v in hidden:
                c = c * z(3, a, v, P) % P
            for m, coef in terms.items():
                total[m] = (total.get(m, 0) + c * coef.numerator * pow(coef.denominator, -1, P)) % P
        assert g.combination(3, a, P).terms == {m: c for m, c in total.items() if c}


@pytest.mark.parametrize("name", sorted(ARCHS))
@pytest.mark.parametrize("flow", FLOWS[:3] + FLOWS[4:5], ids=lambda f: f.describe())
def test_words_on_jets_match_the_expansion(name, flow):
    arch = ARCHS[name]()
    variables = sorted({w for _, _, w in arch[1] if not isinstance(w, Fraction)})
    model = parse_model(to_json(arch, variables), len(variables))
    g = model.graph
    rng = random.Random(7)
    point = [rng.randrange(-500, 500) for _ in range(flow.dim(g.dim))]
    words = candidate_words(6, rng, count=10)
    jets = GraphWords(g, seed=11, p=P, point=point, flow=flow).values(words)
    gens = _Generators(model, {"kind": "network-combinations", "seed": 11}, P)
    pt = [x % P for x in point]
    if flow == FlowSpec("gradient"):
        ev = WordEvaluator(gens.field, pt, P, gens.value_at(pt), gens.jvp_at(pt))
    else:
        lifted = LiftedGenerators(flow, g.dim, P, gens.field, gens.value_at, gens.jvp_at)
        ev = WordEvaluator(lifted.field, pt, P, *lifted.at(pt))
    for w, row in zip(words, jets):
        want = ev.value(w)
        assert {i: int(x) for i, x in enumerate(row) if x} == {i: x % P for i, x in want.items() if x % P}


def test_coordinates_generators_with_a_graph():
    arch = frozen()
    variables = sorted({w for _, _, w in arch[1] if not isinstance(w, Fraction)})
    cert, _ = engine_cert("frozen")
    cert["generators"] = {"kind": "coordinates"}
    g = parse_graph(cert["model"], cert["dim"])
    n = len(g.coordinates())
    cert["rank"]["words"] = list(range(n)) + [[i, j] for i in range(n) for j in range(i + 1, n)]
    ech = Echelon(P, cert["dim"])
    model = parse_model(cert["model"], cert["dim"])
    gens = _Generators(model, {"kind": "coordinates"}, P)
    pt = [x % P for x in cert["rank"]["point"]]
    ev = WordEvaluator(gens.field, pt, P)
    for w in cert["rank"]["words"]:
        ech.add(ev.value(tuple(w) if isinstance(w, list) else w))
    assert ech.rank == cert["rank"]["value"]  # the Lie algebra of the coordinate fields has the same trace
    assert len(variables) == cert["dim"]
    assert check_certificate(cert)["proved"]["exact"]


# -- (c) laws: true accepted, false rejected, on both routes ------------------------------------------------
@pytest.mark.parametrize("name,flow,kw", [("residual", "gradient", {}), ("shared", "gradient", {}),
                                          ("frozen", "gradient", {}), ("residual", "momentum", {"tau": 1})])
@pytest.mark.parametrize("local", [False, True], ids=["expanded", "segments"])
def test_engine_laws_verify_and_false_laws_are_rejected(name, flow, kw, local, monkeypatch):
    if local:
        monkeypatch.setitem(LIMITS, "explicit_law_paths", 0)
    cert, res = engine_cert(name, flow, **kw)
    report = check_certificate(cert)
    assert report["count"] == res.count and report["proved"]["exact"]
    assert report["routes"]["laws"] == ("segments" if local else "coordinates")
    if flow == "momentum":  # s * v_last: conserved along chi_0, moved by the lifted fields
        cert["laws"] = [[["1", [[0, 1], [cert["dim"] - 1, 1]]]]]
        cert["independence"]["value"] = cert["bounds"]["lower"] = 1
        cert["complete"] = cert["bounds"]["upper"] == 1
    else:
        cert["laws"][0] = cert["laws"][0] + [["1", [[cert["dim"] - 1, 1], [0, 1]]]]
    with pytest.raises(CertificateError) as info:
        check_certificate(cert)
    assert info.value.step == "laws"
    assert ("not proved conserved" if local else "is not conserved") in str(info.value)


def test_local_check_refuses_what_it_cannot_prove(monkeypatch):
    """A sum of two neuron laws is conserved and proved; a law spanning the network within the budget is
    proved or refused with a reason, never accepted without proof."""
    monkeypatch.setitem(LIMITS, "explicit_law_paths", 0)
    cert, _ = engine_cert("residual")
    assert len(cert["laws"]) >= 2
    both = copy.deepcopy(cert)
    both["laws"] = [cert["laws"][0] + cert["laws"][1]]
    both["independence"]["value"] = 1
    both["bounds"]["lower"] = 1
    both["complete"] = both["bounds"]["upper"] == 1
    assert check_certificate(both)["routes"]["laws"] == "segments"
    import flowlaws.verify.checker._graph_laws as gl

    monkeypatch.setattr(gl, "TERM_LIMIT", 1)
    with pytest.raises(CertificateError, match="not proved") as info:
        check_certificate(both)
    assert info.value.step == "laws"


# -- (d) malformed graphs ---------------------------------------------------------------------------------
def _base():
    cert, _ = engine_cert("frozen")
    return cert


MUTATIONS = [
    (lambda m: m["edges"].append([5, 3, 0]), "topological order"),
    (lambda m: m["edges"].__setitem__(0, [2, 2, 0]), "topological order"),
    (lambda m: m["nodes"].__setitem__(3, ["neuron"]), "is not one of"),
    (lambda m: m["nodes"].__setitem__(3, ["hidden"]), "a hidden node is"),
    (lambda m: m["nodes"].__setitem__(3, ["hidden", "tanh"]), "a hidden node is"),
    (lambda m: m["nodes"].__setitem__(0, ["input", "relu"]), "only hidden nodes"),
    (lambda m: m["nodes"].__setitem__(0, "input"), "a node is"),
    (lambda m: m["edges"][0].__setitem__(2, 99), "must be <="),
    (lambda m: m["edges"][0].__setitem__(2, -1), "must be >= 0"),
    (lambda m: m["edges"][0].__setitem__(2, 0.5), "expected an integer"),
    (lambda m: m["edges"][0].__setitem__(2, True), "expected an integer"),
    (lambda m: m["edges"][0].__setitem__(2, "1/0"), "denominator 0"),
    (lambda m: m["edges"][0].__setitem__(2, "1.5"), "rational string"),
    (lambda m: m["edges"][0].__setitem__(2, "1/-2"), "rational string"),
    (lambda m: m["edges"][0].__setitem__(2, "9" * 5000), "characters"),
    (lambda m: m["edges"].append(list(m["edges"][0])), "a second edge"),
    (lambda m: m["edges"].append([0, 1, 0]), "no incoming edges"),
    (lambda m: m["edges"].append([0, 2, 0]), "no incoming edges"),
    (lambda m: m["nodes"].__setitem__(5, ["output"]), "no outgoing edges"),
    (lambda m: m["edges"].__setitem__(0, [0, 3, "1/2"]), "on no edge"),
    (lambda m: m["edges"].__setitem__(0, [0, 100, 0]), "must be <="),
    (lambda m: m["edges"].__setitem__(0, [0, 3]), "an edge is [src, dst, w]"),
    (lambda m: m.__setitem__("nodes", [["input"]] * (LIMITS["graph_nodes"] + 1)), "limit"),
    (lambda m: m.__setitem__("edges", [[0, 1, 0]] * (LIMITS["graph_edges"] + 1)), "limit"),
    (lambda m: m.__setitem__("nodes", [n if n != ["output"] else ["hidden", "relu"] for n in m["nodes"]]), "no output"),
    (lambda m: m.__setitem__("extra", 1), "unknown field"),
    (lambda m: m.__setitem__("edges", {}), "expected a list"),
]


@pytest.mark.parametrize("mutate,fragment", MUTATIONS, ids=[f for _, f in MUTATIONS])
def test_malformed_graphs_are_rejected(mutate, fragment):
    cert = _base()
    mutate(cert["model"])
    with pytest.raises(CertificateError) as info:
        check_certificate(cert)
    assert fragment in str(info.value), str(info.value)
    assert info.value.step == "schema"


def test_prime_dividing_a_frozen_denominator_is_rejected():
    cert = _base()
    cert["model"]["edges"] = [e if not isinstance(e[2], str) else [e[0], e[1], f"1/{P}"] for e in cert["model"]["edges"]]
    with pytest.raises(CertificateError, match="divisible by the prime") as info:
        check_certificate(cert)
    assert info.value.step == "generators"


def test_fuzzed_graph_models_never_raise_anything_else():
    base = _base()
    rng = random.Random(2024)
    junk = [None, -1, 0, 1, 7, 10**30, 1.5, True, "x", "1/2", "-3", [], {}, ["hidden", "relu"], [0, 1, 0], ["bias"]]
    outcomes = set()
    for _ in range(300):
        cert = copy.deepcopy(base)
        m = cert["model"]
        for _ in range(rng.randint(1, 3)):
            where = rng.choice(["nodes", "edges"])
            seq = m[where]
            if not seq:
                continue
            i = rng.randrange(len(seq))
            op = rng.random()
            if op < 0.3:
                seq.pop(i)
            elif op < 0.6 and isinstance(seq[i], list) and seq[i]:
                seq[i] = list(seq[i])
                seq[i][rng.randrange(len(seq[i]))] = rng.choice(junk)
            else:
                seq.insert(i, rng.choice(junk))
        try:
            check_certificate(cert)
            outcomes.add("ok")
        except CertificateError as err:
            outcomes.add(err.step)
            assert "\n" not in str(err)
    assert "schema" in outcomes


# -- soundness of the local check on random DAGs ---------------------------------------------------------
def random_graph(rng):
    kinds = [["input"]] * rng.randint(1, 3) + [["bias"]] * rng.randint(0, 1)
    kinds += [["hidden", rng.choice(["relu", "linear", "leaky_relu"])] for _ in range(rng.randint(2, 5))]
    kinds += [["output"]] * rng.randint(1, 2)
    rng.shuffle(kinds)
    kinds.sort(key=lambda k: {"input": 0, "bias": 0, "hidden": 1, "output": 2}[k[0]])  # sources first
    edges, params = [], 0
    for d in range(len(kinds)):
        for s in range(d):
            if kinds[d][0] in ("input", "bias") or kinds[s][0] == "output" or rng.random() < 0.45:
                continue
            if rng.random() < 0.15:
                w = str(Fraction(rng.randint(-3, 3), rng.randint(1, 3)))
            elif params and rng.random() < 0.2:
                w = rng.randrange(params)  # a shared weight
            else:
                w, params = params, params + 1
            edges.append([s, d, w])
    return {"kind": "graph", "nodes": kinds, "edges": edges}, params


def test_local_check_is_sound_on_random_graphs():
    from flowlaws.verify.checker._flows import law_fields
    from flowlaws.verify.checker._graph_laws import graph_local_residual
    from flowlaws.verify.checker._polys import Poly, inner

    rng = random.Random(5)
    proved = refused = 0
    for trial in range(150):
        model, D = random_graph(rng)
        if D == 0:
            continue
        g = parse_graph(model, D)
        flow = FlowSpec("gradient") if trial % 3 else FlowSpec("momentum", tau=Fraction(1))
        shift = 1 if flow.has_drift else 0
        fields = law_fields(flow, D, [(str(k), phi.gradient()) for k, phi in g.coordinates()])
        fields = [f for i, _l, f in fields if not (flow.has_drift and i == 0)]
        x = [Poly.variable(j + (D + 1 if flow.has_drift else 0)) for j in range(D)]
        laws = []
        for v in range(g.n):  # the neuron laws, and random signed sums of squares
            ins = {g.param[e] for e in g.in_edges[v] if g.param[e] >= 0}
            outs = {g.param[e] for e in g.out_edges[v] if g.param[e] >= 0}
            if ins or outs:
                laws.append(sum((x[j] * x[j] for j in ins), Poly()) - sum((x[j] * x[j] for j in outs), Poly()))
        for _ in range(4):
            laws.append(sum((rng.choice([-1, 1]) * x[j] * x[j] for j in rng.sample(range(D), rng.randint(1, D))), Poly()))
        for h in laws:
            if flow.has_drift:
                h = h * Poly.variable(0)  # s * (...): the shape of momentum laws, drift aside
            local = graph_local_residual(g, flow, h) is None
            exact = all(not inner(h.gradient(), f) for f in fields)
            assert exact or not local, (model, h)  # proved locally => conserved
            proved += local
            refused += exact and not local
    assert proved > 50
    assert refused < proved


@pytest.mark.parametrize("name", sorted(ARCHS))
@pytest.mark.parametrize("flow", ["gradient", "momentum"])
def test_engine_graph_certificates_verify_on_both_law_routes(name, flow, monkeypatch):
    res = fl.analyze(fl.models.from_graph(to_nx(ARCHS[name]())), flow=flow, **({"tau": 1} if flow == "momentum" else {}))
    cert = res.certificate
    if cert["model"]["kind"] != "graph":
        pytest.skip(f"the engine writes {cert['model']['kind']!r} certificates for from_graph models")
    assert check_certificate(cert)["count"] == res.count
    monkeypatch.setitem(LIMITS, "explicit_law_paths", 0)
    report = check_certificate(cert)
    assert report["routes"]["laws"] == "segments" and report["count"] == res.count
