"""The engine's threaded matrix product (kernels/loops.py ``matmul``, src/gemm.h) against
NumPy's for every operand layout, batch and ``out=``, and the thread policy: set_num_threads,
the governor, the environment variable, and what importing the package leaves alone."""

from __future__ import annotations

import collections
import contextlib
import os
import subprocess
import sys

import numpy as np
import pytest
from test_time_loops import engine, needs_loops

import tinygrad_seq as ts
from tinygrad_seq.kernels import loops

# ---- matrix products --------------------------------------------------------------------------

def operand(rng, shape, dtype, layout):
    """A (..., r, c) operand laid out as named: C order, the transpose of a C-ordered array,
    the first columns of a wider array, every other row, every other column, rows reversed,
    columns reversed, or one row broadcast to all rows (the last four: no BLAS layout)."""
    *batch, r, c = shape

    def make(s):
        return rng.standard_normal(s).astype(dtype)
    if layout == "c":
        a = make(shape)
    elif layout == "transposed":
        a = np.swapaxes(make((*batch, c, r)), -1, -2)
    elif layout == "first columns":
        a = make((*batch, r, c + 5))[..., :c]
    elif layout == "every other row":
        a = make((*batch, 2 * r, c))[..., ::2, :]
    elif layout == "every other column":
        a = make((*batch, r, 2 * c))[..., ::2]
    elif layout == "rows reversed":
        a = make(shape)[..., ::-1, :]
    elif layout == "columns reversed":
        a = make(shape)[..., ::-1]
    else:  # "broadcast row"
        a = np.broadcast_to(make((*batch, 1, c)), shape)
    return a


BLAS_LAYOUTS = ["c", "transposed", "first columns", "every other row"]
OTHER_LAYOUTS = ["every other column", "rows reversed", "columns reversed", "broadcast row"]
# (m, k, n): above PARALLEL_FLOPS (split by columns, by rows when tall and narrow), below
SIZES = [(150, 170, 190), (1000, 40, 60), (40, 60, 1000), (5, 6, 7)]


@contextlib.contextmanager
def routes():
    """Counts the products that loops.matmul hands to NumPy."""
    counted = collections.Counter()
    real = loops._numpy_matmul

    def spy(a, b, out):
        counted["numpy"] += 1
        return real(a, b, out)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(loops, "_numpy_matmul", spy)
        yield counted


def check_matmul(a, b, out=None, blas=True, threads=(1, 2, 3)):
    """loops.matmul(a, b, out) equals numpy.matmul on each thread count, and goes to the BLAS
    (``blas``), to NumPy (False) or either (None: a layout the BLAS cannot read as it is may be
    copied or left to NumPy)."""
    expected = np.matmul(a, b)
    tol = dict(rtol=1e-12, atol=1e-12) if expected.dtype == np.float64 else \
        dict(rtol=1e-5, atol=1e-5 * np.sqrt(a.shape[-1]))
    for n in threads:
        with engine(n), routes() as counted:
            got = loops.matmul(a, b, out=out)
        if blas is not None:
            assert counted["numpy"] == (0 if blas else 1), (n, counted)
        assert got.shape == expected.shape and got.dtype == expected.dtype
        if out is not None:
            assert got is out
        np.testing.assert_allclose(got, expected, **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("layout_a, layout_b", [(x, "c") for x in BLAS_LAYOUTS + OTHER_LAYOUTS]
                         + [("c", x) for x in BLAS_LAYOUTS[1:] + OTHER_LAYOUTS]
                         + [("transposed", "transposed"), ("every other row", "first columns")])
def test_matmul_of_each_layout_is_numpys(layout_a, layout_b, dtype):
    needs_loops()
    rng = np.random.default_rng(0)
    for m, k, n in SIZES:
        a, b = operand(rng, (m, k), dtype, layout_a), operand(rng, (k, n), dtype, layout_b)
        large = 2.0 * m * k * n >= loops.PARALLEL_FLOPS
        usable = layout_a in BLAS_LAYOUTS and layout_b in BLAS_LAYOUTS
        check_matmul(a, b, blas=(True if usable else None) if large else False,
                     threads=(1, 2, 3) if large else (2,))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_matmul_of_vectors_and_strided_single_rows(dtype):
    needs_loops()
    rng = np.random.default_rng(1)
    wide = rng.standard_normal((1500, 4500)).astype(dtype)
    check_matmul(wide[:1, ::3], wide[:, :1500].T)  # (1, k) with a column stride of 3
    check_matmul(wide[:, :1500], wide[:1500, 7:8])  # (k, 1): one column of a wider array
    check_matmul(wide[:, 1500:3000], np.ascontiguousarray(wide[:, :1]))


# (a's shape, b's shape, layouts, whether the BLAS takes them: True, or None for either)
BATCHED = [((4, 100, 110), (4, 110, 120), ("c", "c"), True),
           ((4, 100, 110), (110, 120), ("c", "c"), True),  # b shared by every entry
           ((1, 100, 110), (4, 110, 120), ("transposed", "c"), True),
           ((2, 3, 100, 110), (110, 120), ("first columns", "transposed"), True),
           ((2, 3, 100, 110), (1, 1, 110, 120), ("c", "every other row"), True),
           ((2, 100, 110), (2, 110, 120), ("c", "c"), True),  # fewer entries than threads
           ((2, 1, 100, 110), (1, 3, 110, 120), ("c", "c"), None),  # two batch strides
           ((2, 1, 2, 60, 70), (1, 3, 1, 70, 80), ("c", "transposed"), None),  # three
           ((4, 100, 110), (4, 110, 120), ("every other column", "c"), None)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("shape_a, shape_b, layouts, blas", BATCHED, ids=str)
def test_batched_matmul_is_numpys(shape_a, shape_b, layouts, blas, dtype):
    needs_loops()
    rng = np.random.default_rng(2)
    a, b = operand(rng, shape_a, dtype, layouts[0]), operand(rng, shape_b, dtype, layouts[1])
    check_matmul(a, b, blas=blas)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_batched_matmul_of_strided_batches(dtype):
    needs_loops()
    rng = np.random.default_rng(3)
    big = rng.standard_normal((4, 6, 100, 110)).astype(dtype)
    b = rng.standard_normal((110, 120)).astype(dtype)
    check_matmul(big[::-1, 0], b)  # the batch axis reversed: a negative stride
    check_matmul(big[:, ::2], b)  # (4, 3) entries, every other one: one stride of 2
    check_matmul(big[:, :3], b, blas=None)  # (4, 3) of (4, 6): two batch strides


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_matmul_into_out(dtype):
    needs_loops()
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((150, 170)).astype(dtype), rng.standard_normal((170, 190))
    b = b.astype(dtype)
    check_matmul(a, b, out=np.full((150, 190), np.nan, dtype=dtype))
    a3 = rng.standard_normal((3, 150, 170)).astype(dtype)
    check_matmul(a3, b, out=np.full((3, 150, 190), np.nan, dtype=dtype))
    wider = np.full((150, 200), np.nan, dtype=dtype)
    check_matmul(a, b, out=wider[:, :190], blas=None)  # out not contiguous
    assert np.isnan(wider[:, 190:]).all()


@pytest.mark.parametrize("case", ["float64 out", "wider out", "out is a"])
def test_matmul_into_any_out_numpy_takes(case):
    needs_loops()
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((200, 200), dtype=np.float32), \
        rng.standard_normal((200, 200), dtype=np.float32)
    expected = a @ b
    if case == "float64 out":
        out = np.zeros((200, 200))
    elif case == "wider out":  # NumPy refuses it
        with pytest.raises(ValueError):
            loops.matmul(a, b, out=np.zeros((200, 201), dtype=np.float32))
        return
    else:
        out = a
    loops.matmul(a, b, out=out)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("shape_a, shape_b", [((0, 3000), (3000, 3000)),
                                              ((3000, 0), (0, 3000)),
                                              ((3000, 3000), (3000, 0)),
                                              ((0, 300, 300), (300, 300))], ids=str)
def test_matmul_with_empty_axes(shape_a, shape_b, dtype):
    a, b = np.ones(shape_a, dtype=dtype), np.ones(shape_b, dtype=dtype)
    got = loops.matmul(a, b)
    assert got.shape == np.matmul(a, b).shape and got.dtype == dtype
    assert (got == 0).all()


def test_matmul_of_other_operands_is_numpys():
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal((200, 200)), rng.standard_normal((200, 200))
    for x, y in [(a, b.astype(np.float32)), (a[0], b), (a, b[:, 0]),
                 (a.astype(np.int64), b.astype(np.int64))]:
        with routes() as counted:
            got = loops.matmul(x, y)
        assert counted["numpy"] == 1
        np.testing.assert_array_equal(got, np.matmul(x, y))
    with pytest.raises(ValueError):
        loops.matmul(a, b[:150])


# ---- threads ----------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2", None])
def test_set_num_threads_takes_positive_integers(bad):
    with engine(), pytest.raises(ValueError, match="set_num_threads"):
        ts.set_num_threads(bad)


def test_get_num_threads_gives_what_was_set():
    with engine() as (_, policy):
        for n in (1, 3, 2):
            ts.set_num_threads(n)
            assert ts.get_num_threads() == n and policy.count() == n


def test_the_governor_drops_a_thread_while_waits_exceed_the_wall_time_then_probes():
    policy = loops._Threads()
    policy.wanted = policy.active = 3
    policy.report(3, wall_ns=1000, waited_ns=999)
    assert policy.count() == 3
    policy.report(3, wall_ns=1000, waited_ns=1001)
    assert policy.active == 2
    policy.report(2, wall_ns=1000, waited_ns=5000)
    assert policy.active == 1
    policy.report(1, wall_ns=1000, waited_ns=5000)  # one thread never drops to none
    assert [policy.count() for _ in range(policy.PROBE_EVERY)] == \
        [1] * (policy.PROBE_EVERY - 1) + [3]
    assert policy.count() == 3


def probe(code, *args, **env):
    """What ``code`` prints (split) in a fresh interpreter, with the TINYGRAD_SEQ_ settings
    given."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("TINYGRAD_SEQ_NUM_THREADS", "TINYGRAD_SEQ_BLAS",
                        "TINYGRAD_SEQ_HOST_KERNELS", "OPENBLAS_NUM_THREADS")} | env
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()


@pytest.mark.parametrize("value", ["1", "3", None])
def test_the_environment_sets_the_threads(value):
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no os.sched_getaffinity here: the default is os.cpu_count()")
    code = ("import os, tinygrad_seq as ts\n"
            "print(ts.get_num_threads(), len(os.sched_getaffinity(0)))")
    threads, cores = probe(code, **({} if value is None else {"TINYGRAD_SEQ_NUM_THREADS": value}))
    assert threads == (cores if value is None else value)


def test_importing_loads_no_library_and_leaves_the_blas_threads_alone():
    needs_loops()
    from tinygrad_seq.kernels import blas
    code = ("import ctypes, sys, numpy\n"
            "lib = ctypes.CDLL(sys.argv[1])\n"
            "get = next(getattr(lib, n) for n in ('scipy_openblas_get_num_threads64_',"
            " 'openblas_get_num_threads') if hasattr(lib, n))\n"
            "before = get()\n"
            "import tinygrad_seq as ts; from tinygrad_seq.kernels import blas, host, loops\n"
            "print(loops._functions.cache_info().currsize, host.library.cache_info().currsize,"
            " blas.find.cache_info().currsize, get() == before)\n"
            "ts.nn.LSTM(3, 4)(ts.randn(2, 1, 3))\n"  # the first use holds the BLAS at one
            "print(loops._functions.cache_info().currsize, get())\n")
    assert probe(code, blas.find().path) == ["0", "0", "0", "True", "1", "1"]


@pytest.mark.parametrize("value", ["abc", "0", "-2"])
def test_an_unusable_thread_count_in_the_environment_warns_and_uses_the_cores(value):
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no os.sched_getaffinity here: the default is os.cpu_count()")
    code = ("import os, warnings, tinygrad_seq as ts\n"
            "with warnings.catch_warnings(record=True) as caught:\n"
            "    warnings.simplefilter('always')\n"
            "    n = ts.get_num_threads()\n"
            "said = 'TINYGRAD_SEQ_NUM_THREADS' in str(caught[0].message)\n"
            "print(n == len(os.sched_getaffinity(0)), said)")
    assert probe(code, TINYGRAD_SEQ_NUM_THREADS=value) == ["True", "True"]


def test_set_num_threads_takes_numpy_integers():
    with engine():
        ts.set_num_threads(np.int64(2))
        assert ts.get_num_threads() == 2 and type(ts.get_num_threads()) is int
