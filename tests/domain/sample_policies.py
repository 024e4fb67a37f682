"""Policies for the domain tests, written here so that those tests need the domain alone.

Each has the shape and numbers of a city preset's first policy version (the presets are
the application's data, and are checked in tests/ledger/test_presets.py): Pinghu's three
bands and no cap, Nanyang's one band and cap with the city bearing whole deficits,
Beijing's group uplifts, Weihai's high threshold.
"""

from domain.policy import Policy

PINGHU = Policy.model_validate(
    {
        "version": "pinghu-1",
        "premium": "50.00",
        "funding": {"worker": "1.00", "union:city": "49.00"},
        "benefit": {
            "deductible": "600.00",
            "bands": [
                {"lower": "600.00", "upper": "5000.00", "rate": "0.20"},
                {"lower": "5000.00", "upper": "10000.00", "rate": "0.50"},
                {"lower": "10000.00", "rate": "0.70"},
            ],
            "annual_cap": None,
            "uplifts": {},
            "claim_deadline_days": 90,
        },
        "deficit_sharing": {"city_share": "0.50"},
    }
)

NANYANG = Policy.model_validate(
    {
        "version": "nanyang-1",
        "premium": "90.00",
        "funding": {"worker": "60.00", "union:city": "30.00"},
        "benefit": {
            "deductible": "1000.00",
            "bands": [{"lower": "1000.00", "rate": "0.50"}],
            "annual_cap": "100000.00",
            "uplifts": {},
            "claim_deadline_days": 90,
        },
        "deficit_sharing": {"city_share": "1"},
    }
)

BEIJING = Policy.model_validate(
    {
        "version": "beijing-1",
        "premium": "60.00",
        "funding": {"union:city": "60.00"},
        "benefit": {
            "deductible": "1300.00",
            "bands": [{"lower": "1300.00", "rate": "0.50"}],
            "annual_cap": "200653.00",
            "uplifts": {"hardship": "0.05", "model_worker": "0.05"},
            "claim_deadline_days": 90,
        },
        "deficit_sharing": {"city_share": "1"},
    }
)

WEIHAI = Policy.model_validate(
    {
        "version": "weihai-1",
        "premium": "60.00",
        "funding": {"worker": "50.00", "union:city": "10.00"},
        "benefit": {
            "deductible": "8000.00",
            "bands": [{"lower": "8000.00", "rate": "0.50"}],
            "annual_cap": "100000.00",
            "uplifts": {},
            "claim_deadline_days": 180,
            "claim_deadline_from": "discharge",
        },
        "deficit_sharing": {"city_share": "0.50"},
    }
)

POLICIES = {"pinghu": PINGHU, "nanyang": NANYANG, "beijing": BEIJING, "weihai": WEIHAI}
"""Each by the name of the scheme it is modelled on, as open_scheme takes it."""
