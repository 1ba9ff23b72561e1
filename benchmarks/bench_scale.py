"""The national benchmark at scale: Hard Concrete selection + refit, l0-python, a certified L1 path.

    python benchmarks/bench_scale.py [--scales 0.1,0.3,1] [--epochs 1000] [--l0-epochs 5] [--skip-l1]
                                     [--stages build,hc,l0,l1] [--lambda-l0 1e-4]

For each scale of :func:`reweightkit.nation` (1: about 300,000 records x 28,000 targets), each stage
runs in a fresh subprocess so that its time and its peak memory are its own (peak resident memory:
``VmHWM`` after resetting it through ``/proc/self/clear_refs``; printed as the increase over the
process's resident memory before the stage, next to the CSR matrix's size):

- ``build``: the generator (population and survey) and the prepared problem;
- ``hc``: the fast Hard Concrete engine, one seed, ``--epochs`` epochs (issue #19's goal at scale 1:
  selection + refit in at most 5 minutes within 4 GB), seconds per epoch;
- ``l0``: l0-python's ``SparseCalibrationWeights`` on the same matrix for ``--l0-epochs`` epochs:
  seconds per epoch and peak memory (the same-run baseline of the per-epoch ratio);
- ``refit`` (in the ``hc`` subprocess, after it): the relaxed refit of the selected records (NN least
  squares on the support, FISTA, certified to a relative gap of 1e-6);
- ``l1``: a 20-point certified L1 path (relative gap 1e-6; ``solver="auto"``: the interior point up
  to 1,000 targets, FISTA above), wall time and whether every point certified.
"""

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, os, sys, time, warnings
import numpy as np
import reweightkit as rk
from reweightkit.solvers.path import choose_solver
warnings.simplefilter("ignore")
stage, scale, epochs, l0_epochs = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
lam = float(sys.argv[5])

def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass

t0 = time.perf_counter()
nb = rk.nation(scale, seed=0)
p = nb.problem()
build = time.perf_counter() - t0
A = p.At_rec
csr_bytes = A.data.nbytes + A.indices.nbytes + A.indptr.nbytes
out = {"stage": stage, "scale": scale, "n": A.shape[0], "m": A.shape[1], "nnz": int(A.nnz), "csr_gb": csr_bytes / 1e9}
if stage == "build":
    out.update(seconds=build, peak_gb=status("VmHWM:") / 1e9)
    print(json.dumps(out)); sys.exit()
if stage == "hc":
    threads = rk.default_threads(p.n_records)
    before = status("VmRSS:"); reset_peak(); t0 = time.perf_counter()
    res = rk.solvers.train_hard_concrete(p.At_rec, p.b_t, p.w0, [lam], [0], epochs=epochs, history_every=max(epochs // 5, 1))
    t = time.perf_counter() - t0
    w = res["weights"][0]
    out.update(seconds=t, per_epoch=t / epochs, peak_gb=(status("VmHWM:") - before) / 1e9, kept=int((w > 0).sum()),
               epochs=epochs, threads=threads)
    print(json.dumps(out))
    out = dict(out, stage="refit")
    before = status("VmRSS:"); reset_peak(); t0 = time.perf_counter()
    w2, sol = rk.solvers.relaxed_refit(p.At_rec, p.b_t, w, tol=1e-6, max_iter=5000)
    out.update(seconds=time.perf_counter() - t0, peak_gb=(status("VmHWM:") - before) / 1e9,
               certified=bool(sol.converged), rel_gap=float(sol.rel_gap), iterations=int(sol.n_iter),
               train_error_before=float(np.mean(np.abs(p.At_rec.T @ w - p.b_t))),
               train_error_after=float(np.mean(np.abs(p.At_rec.T @ w2 - p.b_t))))
    for k in ("per_epoch", "kept", "epochs", "threads"):
        out.pop(k)
elif stage == "l0":
    import torch
    from l0.calibration import SparseCalibrationWeights
    M = (p.At_rec.T / np.sqrt(2.0)).tocsr()
    y = p.b_t / np.sqrt(2.0)
    torch.manual_seed(0)
    model = SparseCalibrationWeights(p.n_records, init_keep_prob=0.99, init_weights=np.asarray(p.w0), seed=0)
    before = status("VmRSS:"); reset_peak(); t0 = time.perf_counter()
    model.fit(M, y, lambda_l0=lam, lambda_l2=0.0, lr=0.1, epochs=l0_epochs, loss_type="mse")
    t = time.perf_counter() - t0
    out.update(seconds=t, per_epoch=t / l0_epochs, peak_gb=(status("VmHWM:") - before) / 1e9, epochs=l0_epochs,
               threads=torch.get_num_threads())
elif stage == "l1":
    before = status("VmRSS:"); reset_peak(); t0 = time.perf_counter()
    path = rk.solvers.nn_lasso_path(p.At_rec, p.b_t, n_lambdas=20, eps=1e-2, w0=p.w0, tol=1e-6, max_iter=3000, warn=False,
                            solver="auto")
    sols = path["solutions"]
    out.update(seconds=time.perf_counter() - t0, peak_gb=(status("VmHWM:") - before) / 1e9,
               certified=sum(s.converged for s in sols), points=len(sols), worst_gap=max(s.rel_gap for s in sols),
               iterations=sum(s.n_iter for s in sols), solver=choose_solver(p.At_rec, "auto"))
print(json.dumps(out))
"""


def run(stage, scale, epochs, l0_epochs, timeout, lam):
    """The stage's result rows (the ``hc`` stage also times the refit of its selection)."""
    try:
        proc = subprocess.run([sys.executable, "-c", CHILD, stage, str(scale), str(epochs), str(l0_epochs), str(lam)],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [{"stage": stage, "scale": scale, "error": f"over {timeout} s"}]
    if proc.returncode != 0:
        return [{"stage": stage, "scale": scale, "error": proc.stderr.strip().splitlines()[-1][:200]}]
    return [json.loads(line) for line in proc.stdout.strip().splitlines() if line.startswith("{")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scales", default="0.1,0.3,1")
    ap.add_argument("--epochs", type=int, default=1000)
    ap.add_argument("--l0-epochs", type=int, default=5)
    ap.add_argument("--skip-l1", action="store_true")
    ap.add_argument("--stages", default=None, help="comma-separated subset of build,hc,l0,l1")
    ap.add_argument("--lambda-l0", type=float, default=1e-4, help="Hard Concrete penalty (default 1e-4)")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per stage")
    args = ap.parse_args()
    stages = ["build", "hc", "l0"] + ([] if args.skip_l1 else ["l1"])
    if args.stages:
        stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    rows = []
    for scale in (float(s) for s in args.scales.split(",")):
        for stage in stages:
            for r in run(stage, scale, args.epochs, args.l0_epochs, args.timeout, args.lambda_l0):
                rows.append(r)
                print(json.dumps(r), flush=True)
    print("\nstage   scale  records x targets      nnz   CSR GB  seconds  s/epoch  peak+ GB  notes")
    for r in rows:
        if "error" in r:
            print(f"{r['stage']:<7} {r['scale']:5g}  {r['error']}")
            continue
        note = ""
        if r["stage"] == "hc":
            note = f"kept {r['kept']:,} records, {r['epochs']} epochs, {r['threads']} thread(s)"
        elif r["stage"] == "l0":
            note = f"{r['epochs']} epochs, torch threads {r['threads']}"
        elif r["stage"] == "refit":
            note = (f"certified {r['certified']} (gap {r['rel_gap']:.1e}, {r['iterations']} iterations); mean |rel. error| "
                    f"{r['train_error_before']:.3f} -> {r['train_error_after']:.3f}")
        elif r["stage"] == "l1":
            note = f"{r['solver']}: {r['certified']}/{r['points']} certified, worst gap {r['worst_gap']:.1e}"
        per = f"{r['per_epoch']:8.3f}" if "per_epoch" in r else " " * 8
        print(f"{r['stage']:<7} {r['scale']:5g}  {r['n']:>7,} x {r['m']:>6,}  {r['nnz']:>10,}  {r['csr_gb']:6.3f}  "
              f"{r['seconds']:7.1f} {per}  {r['peak_gb']:8.2f}  {note}")
    by = {(r["stage"], r["scale"]): r for r in rows if "error" not in r}
    for scale in sorted({r["scale"] for r in rows}):
        hc, l0, refit = by.get(("hc", scale)), by.get(("l0", scale)), by.get(("refit", scale))
        if hc and l0:
            print(f"scale {scale:g}: l0-python / fast engine per epoch = {l0['per_epoch'] / hc['per_epoch']:.1f}x; "
                  f"peak memory fast {hc['peak_gb']:.2f} GB vs l0-python {l0['peak_gb']:.2f} GB (CSR {hc['csr_gb']:.3f} GB)")
        if hc and refit:
            total = hc["seconds"] + refit["seconds"]
            print(f"scale {scale:g}: selection ({hc['epochs']} epochs) + refit = {total:.0f} s "
                  f"(goal at scale 1: <= 300 s within 4 GB)")


if __name__ == "__main__":
    main()
