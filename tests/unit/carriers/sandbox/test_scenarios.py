import math
from collections import Counter

import pytest

from carriers.sandbox.numbering import build_number, parse_last_mile_number
from carriers.sandbox.scenarios import (
    SHARES_PER_MILLE,
    Dice,
    Scenario,
    example_number,
    scenario_for,
    shares_for,
)

SAMPLE = 10_000


def test_documented_shares_add_up_to_the_whole():
    assert sum(SHARES_PER_MILLE.values()) == 1000
    assert set(SHARES_PER_MILLE) == set(Scenario)


@pytest.mark.parametrize("carrier", ["fedex", "ups", "dhl", "usps"])
def test_scenario_shares_over_ten_thousand_numbers_match_the_table(carrier):
    seen = Counter(scenario_for(carrier, build_number(carrier, 10**5 + i)) for i in range(SAMPLE))
    for scenario, per_mille in shares_for(carrier).items():
        expected = SAMPLE * per_mille / 1000
        tolerance = 4 * math.sqrt(expected * (1 - per_mille / 1000)) + 1  # four sigma
        assert abs(seen[scenario] - expected) <= tolerance, (scenario, seen[scenario], expected)


def test_usps_numbers_play_their_hand_off_share_as_normal():
    shares = shares_for("usps")
    assert Scenario.HANDOFF not in shares
    assert Scenario.HANDOFF_GAP not in shares
    assert shares[Scenario.NORMAL] == 830


def test_scenario_is_a_function_of_the_number():
    number = build_number("fedex", 424_242)
    assert {scenario_for("fedex", number) for _ in range(5)} == {scenario_for("fedex", number)}


def test_dice_with_the_same_seed_roll_the_same_sequence():
    first, second = Dice("seed"), Dice("seed")
    rolls = [first.below(1000) for _ in range(20)]
    assert rolls == [second.below(1000) for _ in range(20)]
    assert len(set(rolls)) > 10


@pytest.mark.parametrize("carrier", ["fedex", "ups", "dhl", "usps"])
def test_example_numbers_round_trip_through_scenario_for(carrier):
    for scenario in shares_for(carrier):
        number = example_number(carrier, scenario)
        assert scenario_for(carrier, number) is scenario
        assert parse_last_mile_number(number) is None


def test_example_number_index_gives_distinct_numbers_of_one_scenario():
    numbers = [example_number("fedex", "handoff_gap", index) for index in range(3)]
    assert len(set(numbers)) == 3
    assert {scenario_for("fedex", n) for n in numbers} == {Scenario.HANDOFF_GAP}


def test_example_number_is_pure():
    example_number.cache_clear()
    first = example_number("ups", "stalled", 2)
    example_number.cache_clear()
    assert example_number("ups", "stalled", 2) == first


def test_usps_has_no_example_of_a_hand_off_it_cannot_start():
    with pytest.raises(ValueError, match="never play handoff"):
        example_number("usps", "handoff")


def test_example_number_refuses_unknown_carriers_and_scenarios():
    with pytest.raises(ValueError, match="mints no numbers"):
        example_number("ontrac", "normal")
    with pytest.raises(ValueError, match="lost_in_space"):
        example_number("fedex", "lost_in_space")
