"""Fake but realistic-looking PHI: names, addresses, phones, SSNs, generated in bulk.

Every value is synthetic. SSNs use the 9xx area (never issued by the SSA); phone numbers use
real area codes of the simulated region with random exchanges.
"""

from __future__ import annotations

import numpy as np
import polars as pl

FEMALE_GIVEN = (
    "Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty "
    "Sandra Margaret Ashley Kimberly Emily Donna Michelle Carol Amanda Melissa Deborah Stephanie "
    "Dorothy Rebecca Sharon Laura Cynthia Amy Kathleen Angela Shirley Brenda Emma Anna Pamela "
    "Nicole Samantha Katherine Christine Helen Debra Rachel Carolyn Janet Maria Catherine Heather "
    "Diane Olivia Julie Joyce Victoria Ruth Virginia Lauren Kelly Christina Joan Evelyn Judith "
    "Andrea Hannah Megan Cheryl Jacqueline Martha Madison Teresa Gloria Sara Janice Ann Kathryn "
    "Abigail Sophia Frances Jean Alice Judy Isabella Julia Grace Amber Denise Danielle Marilyn "
    "Beverly Charlotte Natalie Theresa Diana Brittany Doris Kayla Alexis Lori Marie"
).split()
MALE_GIVEN = (
    "James Robert John Michael David William Richard Joseph Thomas Christopher Charles Daniel "
    "Matthew Anthony Mark Donald Steven Andrew Paul Joshua Kenneth Kevin Brian Timothy Ronald "
    "George Jason Edward Jeffrey Ryan Jacob Nicholas Gary Eric Jonathan Stephen Larry Justin "
    "Scott Brandon Benjamin Samuel Gregory Alexander Patrick Frank Raymond Jack Dennis Jerry "
    "Tyler Aaron Jose Adam Nathan Henry Zachary Douglas Peter Kyle Noah Ethan Jeremy Christian "
    "Walter Keith Austin Roger Terry Sean Gerald Carl Dylan Harold Jordan Jesse Bryan Lawrence "
    "Arthur Gabriel Bruce Logan Billy Joe Alan Juan Elijah Willie Albert Wayne Randy Mason "
    "Vincent Liam Roy Bobby Caleb Bradley Russell Lucas"
).split()
FAMILY = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
    "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
    "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips "
    "Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook "
    "Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward "
    "Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez "
    "Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan "
    "Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson "
    "Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera "
    "Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison "
    "Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker "
    "Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason "
    "Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox "
    "Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan "
    "Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen Peters Santos "
    "Hart Bradley Knight Elliott Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews"
).split()
STREETS = (
    "Main Oak Maple Cedar Pine Elm Washington Lake Hill Walnut Sunset Park Lincoln Jackson "
    "Church River Spring Highland Madison Jefferson Prairie Meadow Willow Chestnut Forest Adams "
    "Center Franklin Grant Green Liberty Mill Ridge Union Vine Wabash Monroe Cherry Dogwood"
).split()
STREET_TYPES = "St Ave Rd Dr Ln Ct Blvd Way Pl Ter".split()
# (city, state, zip prefix, area code) for the simulated region (central Illinois).
CITIES = [
    ("Springfield", "IL", "627", "217"),
    ("Peoria", "IL", "616", "309"),
    ("Champaign", "IL", "618", "217"),
    ("Urbana", "IL", "618", "217"),
    ("Bloomington", "IL", "617", "309"),
    ("Normal", "IL", "617", "309"),
    ("Decatur", "IL", "625", "217"),
    ("Danville", "IL", "618", "217"),
    ("Jacksonville", "IL", "626", "217"),
    ("Lincoln", "IL", "626", "217"),
    ("Pekin", "IL", "615", "309"),
    ("Galesburg", "IL", "614", "309"),
    ("Mattoon", "IL", "619", "217"),
    ("Quincy", "IL", "623", "217"),
    ("Kankakee", "IL", "609", "815"),
    ("Ottawa", "IL", "613", "815"),
]


def _pick(rng: np.random.Generator, values: list[str], n: int) -> pl.Series:
    return pl.Series(values).gather(rng.integers(0, len(values), n))


def people(rng: np.random.Generator, n: int, *, female_share: float = 0.52) -> pl.DataFrame:
    """``n`` fake people: sex, given, middle initial, family."""
    female = rng.random(n) < female_share
    fg = _pick(rng, FEMALE_GIVEN, n)
    mg = _pick(rng, MALE_GIVEN, n)
    middle = pl.Series(list("ABCDEFGHJKLMNPRSTW")).gather(rng.integers(0, 18, n))
    return pl.DataFrame(
        {
            "sex": np.where(female, "F", "M"),
            "given": pl.select(pl.when(pl.Series(female)).then(fg).otherwise(mg)).to_series(),
            "middle": middle,
            "family": _pick(rng, FAMILY, n),
        }
    )


def addresses(rng: np.random.Generator, n: int) -> pl.DataFrame:
    """``n`` fake addresses with matching phone area codes and 9xx SSNs."""
    city_idx = rng.integers(0, len(CITIES), n)
    cities = pl.DataFrame(CITIES, schema=["city", "state", "zip3", "area"], orient="row")[city_idx]
    number = rng.integers(100, 9999, n)
    street = _pick(rng, STREETS, n)
    stype = _pick(rng, STREET_TYPES, n)
    zip_tail = rng.integers(1, 99, n)
    exch = rng.integers(200, 999, n)
    line = rng.integers(0, 9999, n)
    ssn_area = rng.integers(900, 999, n)
    ssn_group = rng.integers(10, 99, n)
    ssn_serial = rng.integers(1, 9999, n)
    return pl.DataFrame(
        {
            "address_line": pl.Series(number).cast(pl.Utf8) + " " + street + " " + stype,
            "city": cities["city"],
            "state": cities["state"],
            "zip": cities["zip3"] + pl.Series(zip_tail).cast(pl.Utf8).str.zfill(2),
            "phone": "("
            + cities["area"]
            + ")"
            + pl.Series(exch).cast(pl.Utf8)
            + "-"
            + pl.Series(line).cast(pl.Utf8).str.zfill(4),
            "ssn": pl.Series(ssn_area).cast(pl.Utf8)
            + "-"
            + pl.Series(ssn_group).cast(pl.Utf8)
            + "-"
            + pl.Series(ssn_serial).cast(pl.Utf8).str.zfill(4),
        }
    )
