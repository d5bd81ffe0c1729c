"""The language labels' calibration, written by `python bench/language.py --fit` from the fit
half of tests/fixtures/languages/labelled.jsonl.gz (bench/results/language.txt reports on
the other half). Do not edit by hand: refit.
"""

# Weights of (intercept, fit, margin, log n-grams) in the logistic confidence.
CALIBRATION = (0.616, 3.6373, 5.1295, -0.0542)
# A label whose confidence is below this is "und" (0.8765 of the fit half right).
UND_BELOW = 0.55
# Per profile: its own labelled long texts' median fit per n-gram less the profile's prediction.
FIT_OFFSET: dict[str, float] = {
    'af': -0.1338,
    'ar': -0.4583,
    'bg': -0.1387,
    'bn': -0.1825,
    'ca': -0.0138,
    'cs': -0.2909,
    'cy': -0.076,
    'da': -0.2422,
    'de': -0.2567,
    'el': -0.3145,
    'es': -0.0894,
    'et': 0.0525,
    'fa': -0.4167,
    'fi': -0.1699,
    'fr': -0.099,
    'gu': -1.546,
    'he': -0.3286,
    'hr': -0.1601,
    'hu': -0.1735,
    'id': -0.228,
    'it': -0.1113,
    'ja': -0.7817,
    'kn': -0.2903,
    'ko': -0.3472,
    'lt': -0.0813,
    'lv': -0.1022,
    'mk': -0.0938,
    'ml': -0.1992,
    'mr': -0.4695,
    'ne': -0.5606,
    'nl': -0.221,
    'no': -0.185,
    'pa': -0.8682,
    'pl': -0.269,
    'pt': -0.2684,
    'ro': 0.0141,
    'ru': -0.1144,
    'sk': -0.2716,
    'sq': -0.2727,
    'ta': -0.1566,
    'te': -0.4091,
    'th': -0.5325,
    'tr': -0.1176,
    'uk': -0.2676,
    'vi': 0.0769,
    'zh-cn': -2.7931,
}
