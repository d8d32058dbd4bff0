"""Effects at the precision their CIs support, as the front page prints them."""

from helpers.presentation.words.fitness import readable_pct


def test_a_bound_that_rounds_to_zero_reads_0_not_minus_0():
    assert readable_pct(6.2, -0.3, 12.4) == "+6 % [0 %, +12 %]"
    assert readable_pct(2.5, 0.004, 4.9) == "+2.5 % [0.0 %, +4.9 %]"


def test_decimals_follow_the_ci_width_and_a_huge_ci_is_not_sized():
    assert readable_pct(11.7, 2.04, 21.3) == "+12 % [+2 %, +21 %]"
    assert readable_pct(1.23, 0.51, 1.9) == "+1.2 % [+0.5 %, +1.9 %]"
    assert readable_pct(11.7, -93.5, 1832.9, max_width=100) == "cannot be sized with these data"
