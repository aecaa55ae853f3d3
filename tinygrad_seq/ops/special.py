"""Special-function primitives: Erf (NumPy has no erf; exact GELU needs one).

The body uses only ``xp`` array functions (abs, clip, floor, exp, where, copysign), so the same
code runs on NumPy and CuPy; ``cupyx.scipy.special.erf`` exists, but calling it would be the
backend branch STYLE.md rules out, and this is accurate to about one unit in the last place.

Method and coefficients: the rational approximations of Sun's fdlibm ``s_erf.c`` (the erf of
glibc, musl and the BSDs), evaluated branch-free over the whole array:

    |x| < 0.84375          erf(x) = x + x * P(x^2) / Q(x^2)
    0.84375 <= |x| < 1.25  erf(x) = sign(x) * (erx + P1(s) / Q1(s)),  s = |x| - 1
    1.25 <= |x| < 6        erf(x) = sign(x) * (1 - exp(-x^2 - 0.5625 + R(1/x^2) / S(1/x^2)) / |x|)
                           (R/S from one table below 1/0.35 ~ 2.857, another above)
    |x| >= 6               erf(x) = sign(x)   (1 - erf(6) ~ 2e-17, below half an ulp of 1)

    ====================================================
    Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved.

    Developed at SunPro, a Sun Microsystems, Inc. business.
    Permission to use, copy, modify, and distribute this
    software is freely granted, provided that this notice
    is preserved.
    ====================================================
"""

from __future__ import annotations

import math

from ..autograd import Function

# coefficients, lowest degree first (fdlibm's pp0..pp4, qq1..qq5, ...); Q, Q1, S have a
# leading 1
_ERX = 8.45062911510467529297e-01
_PP = (1.28379167095512558561e-01, -3.25042107247001499370e-01, -2.84817495755985104766e-02,
       -5.77027029648944159157e-03, -2.37630166566501626084e-05)
_QQ = (1.0, 3.97917223959155352819e-01, 6.50222499887672944485e-02, 5.08130628187576562776e-03,
       1.32494738004321644526e-04, -3.96022827877536812320e-06)
_PA = (-2.36211856075265944077e-03, 4.14856118683748331666e-01, -3.72207876035701323847e-01,
       3.18346619901161753674e-01, -1.10894694282396677476e-01, 3.54783043256182359371e-02,
       -2.16637559486879084300e-03)
_QA = (1.0, 1.06420880400844228286e-01, 5.40397917702171048937e-01, 7.18286544141962662868e-02,
       1.26171219808761642112e-01, 1.36370839120290507362e-02, 1.19844998467991074170e-02)
_RA = (-9.86494403484714822705e-03, -6.93858572707181764372e-01, -1.05586262253232909814e+01,
       -6.23753324503260060396e+01, -1.62396669462573470355e+02, -1.84605092906711035994e+02,
       -8.12874355063065934246e+01, -9.81432934416914548592e+00)
_SA = (1.0, 1.96512716674392571292e+01, 1.37657754143519042600e+02, 4.34565877475229228821e+02,
       6.45387271733267880336e+02, 4.29008140027567833386e+02, 1.08635005541779435134e+02,
       6.57024977031928170135e+00, -6.04244152148580987438e-02)
_RB = (-9.86494292470009928597e-03, -7.99283237680523006574e-01, -1.77579549177547519889e+01,
       -1.60636384855821916062e+02, -6.37566443368389627722e+02, -1.02509513161107724954e+03,
       -4.83519191608651397019e+02)
_SB = (1.0, 3.03380607434824582924e+01, 3.25792512996573918826e+02, 1.53672958608443695994e+03,
       3.19985821950859553908e+03, 2.55305040643316442583e+03, 4.74528541206955367215e+02,
       -2.24409524465858183362e+01)
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


def _poly(x, coefs):
    """coefs[0] + coefs[1] x + coefs[2] x^2 + ... (Horner)."""
    acc = coefs[-1]
    for c in coefs[-2::-1]:
        acc = acc * x + c
    return acc


def erf_array(x, xp):
    """erf of a floating array, computed in float64 and returned in x's dtype (float16 and
    float32 inputs are then correctly rounded but for rare ties)."""
    w = x.astype(xp.float64) if x.dtype.itemsize < 8 else x
    a = xp.abs(w)
    # every branch sees its input clipped into its own interval, so none overflows or divides
    # by zero on the elements another branch will supply; where() then picks per element
    w1 = xp.clip(w, -0.84375, 0.84375)
    z1 = w1 * w1
    small = w1 + w1 * (_poly(z1, _PP) / _poly(z1, _QQ))
    s2 = xp.clip(a, 0.84375, 1.25) - 1
    near_one = _ERX + _poly(s2, _PA) / _poly(s2, _QA)
    t = xp.clip(a, 1.25, 6.0)
    s = 1 / (t * t)
    ratio = xp.where(t < 1 / 0.35, _poly(s, _RA) / _poly(s, _SA), _poly(s, _RB) / _poly(s, _SB))
    # exp(-t^2) with t^2 split exactly: z keeps 21 significant bits (t < 8), so z*z is exact
    # and (z - t)(z + t) carries the rest; exp(-t*t) directly would lose ~t^2 ulps
    z = xp.floor(t * 262144.0) / 262144.0
    tail = 1 - xp.exp(-z * z - 0.5625) * xp.exp((z - t) * (z + t) + ratio) / t
    sign = xp.copysign(xp.ones_like(w), w)
    out = xp.where(a < 6, sign * tail, sign)
    out = xp.where(a < 1.25, sign * near_one, out)
    out = xp.where(a < 0.84375, small, out)
    out = xp.where(xp.isnan(w), w, out)
    return out.astype(x.dtype, copy=False)


class Erf(Function):
    """erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt;  d erf(x)/dx = 2/sqrt(pi) exp(-x^2)."""

    name = "erf"

    def forward(self, x):
        if x.dtype.kind != "f":  # integers and bools, as every floating function: float32
            x = x.astype(self.xp.float32)
        return erf_array(x, self.xp)

    def backward(self, g):
        x = self.parents[0]
        return g * ((-(x * x)).exp() * _TWO_OVER_SQRT_PI)
