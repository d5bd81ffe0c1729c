"""The language labels' calibration, written by `python bench/language.py --fit` from the fit
half of tests/fixtures/languages/labelled.jsonl.gz (bench/results/language.txt reports on
the other half). Do not edit by hand: refit.
"""

# Weights of (intercept, fit, margin, log n-grams) in the logistic confidence.
CALIBRATION = (0.1756, 3.8019, 5.6594, 0.0319)
# A label whose confidence is below this is "und" (0.8760 of the fit half right).
UND_BELOW = 0.5
# Per profile: its own labelled long texts' median fit per n-gram less the profile's prediction.
FIT_OFFSET: dict[str, float] = {
    'af': -0.1632,
    'ar': -0.4475,
    'bg': -0.1799,
    'bn': -0.2273,
    'ca': -0.0237,
    'cs': -0.2706,
    'cy': -0.1238,
    'da': -0.2393,
    'de': -0.2567,
    'el': -0.2708,
    'es': -0.1571,
    'et': 0.057,
    'fa': -0.4453,
    'fi': -0.1692,
    'fr': -0.1339,
    'gu': -1.5253,
    'he': -0.3685,
    'hi': -0.3825,
    'hr': -0.1308,
    'hu': -0.2396,
    'id': -0.1679,
    'it': -0.1139,
    'ja': -0.8744,
    'kn': -0.2947,
    'ko': -0.3423,
    'lt': -0.0955,
    'lv': -0.0418,
    'mk': -0.1072,
    'ml': -0.2513,
    'mr': -0.4306,
    'ne': -0.5756,
    'nl': -0.1197,
    'no': -0.1506,
    'pa': -0.8853,
    'pl': -0.2165,
    'pt': -0.2464,
    'ro': 0.0004,
    'ru': -0.1337,
    'sk': -0.2574,
    'sl': -0.0125,
    'sq': -0.2468,
    'sv': -0.1575,
    'ta': -0.128,
    'te': -0.4097,
    'th': -0.5018,
    'tr': -0.1055,
    'uk': -0.272,
    'vi': 0.0899,
    'zh-cn': -2.7852,
}
