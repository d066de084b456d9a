"""The pure review rules: tags, stars, what a text may not carry, the masked reviewer, the 30-day window
and the doctor's running totals."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import NOW
from yiyue.reviews import rules
from yiyue.reviews.errors import (
    InvalidStars,
    NotReviewable,
    ReviewExists,
    ReviewTextRejected,
    ReviewTextTooLong,
    ReviewWindowClosed,
    UnknownReviewTag,
)


class TestTags:
    def test_praise_comes_first_then_what_went_less_well(self):
        flags = [t.positive for t in rules.TAGS]
        assert flags == sorted(flags, reverse=True)
        assert {"耐心细致", "解释清楚", "医术高明", "态度很好"} <= rules.POSITIVE
        assert {"等待时间长", "沟通不足"} <= rules.TAG_NAMES - rules.POSITIVE

    def test_each_tag_counts_once_in_the_order_given(self):
        assert rules.check_tags(["解释清楚", "耐心细致", "解释清楚"]) == ["解释清楚", "耐心细致"]

    def test_a_tag_not_offered_is_refused_by_name(self):
        with pytest.raises(UnknownReviewTag) as refused:
            rules.check_tags(["耐心细致", "长得帅"])
        assert refused.value.detail == {"tags": ["长得帅"]} and "长得帅" in refused.value.text


class TestStars:
    @pytest.mark.parametrize("stars", [1, 3, 5])
    def test_one_to_five(self, stars):
        assert rules.check_stars(stars) == stars

    @pytest.mark.parametrize("stars", [0, 6, -1])
    def test_outside_is_refused(self, stars):
        with pytest.raises(InvalidStars):
            rules.check_stars(stars)


class TestText:
    @pytest.mark.parametrize(
        "text",
        [
            "李医生非常耐心，解释得很清楚。",
            "等了2.5小时，挂号费50元，体温38.5度",
            "2026-03-02 上午看的，复查约在3月16日",
            "",
            "x" * 300,
        ],
    )
    def test_ordinary_text_is_kept(self, text):
        assert rules.check_text(f"  {text}\n") == text

    def test_longer_than_300_characters_is_refused(self):
        with pytest.raises(ReviewTextTooLong):
            rules.check_text("好" * 301)

    @pytest.mark.parametrize(
        ("text", "problem"),
        [
            ("有问题打我电话13812345678", "phone"),
            ("电话 138 1234 5678", "phone"),
            ("电话138-1234-5678", "phone"),
            ("全角１３８１２３４５６７８", "phone"),
            ("科室电话010-12345678", "phone"),
            ("加QQ 12345678", "phone"),
            ("我的身份证110105199001011234", "id_number"),
            ("身份证 110105 19900101 123X", "id_number"),
            ("十五位 110105900101123", "id_number"),
            ("发邮件到 zhang.san@example.com", "contact"),
            ("全角＠也算 a@qq．com", "contact"),
            ("看看 https://example.org/a", "contact"),
            ("详见www.abc.cn", "contact"),
            ("网站abc.com了解一下", "contact"),
            ("这是个庸医", "abuse"),
            ("傻 逼", "abuse"),
            ("傻*逼", "abuse"),
            ("FUCK", "abuse"),
        ],
    )
    def test_personal_data_and_abuse_are_refused_saying_which(self, text, problem):
        assert rules.text_problem(text) == rules.TextProblem(problem)
        with pytest.raises(ReviewTextRejected) as refused:
            rules.check_text(text)
        assert refused.value.detail == {"reason": problem}
        assert refused.value.text == rules.TEXT_PROBLEMS[rules.TextProblem(problem)]


class TestMaskedReviewer:
    @pytest.mark.parametrize(
        ("name", "shown"),
        [
            ("张三", "张*"),
            ("张三丰", "张**"),
            ("李", "李*"),
            ("欧阳娜娜", "欧阳**"),
            ("欧阳明", "欧阳*"),
            ("诸葛亮", "诸葛*"),
            ("欧阳", "欧*"),
            ("买买提·艾力", "买**"),
            ("  王芳 ", "王*"),
            ("", "匿名患者"),
        ],
    )
    def test_the_surname_and_at_most_two_stars(self, name, shown):
        assert rules.mask_reviewer(name) == shown


class TestWindow:
    def test_thirty_days_after_completion(self):
        assert rules.review_until(NOW) == NOW + timedelta(days=30)

    @pytest.mark.parametrize(
        ("after", "refusal"),
        [
            (timedelta(0), None),
            (timedelta(days=29, hours=23), None),
            (timedelta(days=30), None),
            (timedelta(days=30, minutes=1), ReviewWindowClosed),
        ],
    )
    def test_open_until_the_thirtieth_day_is_over(self, after, refusal):
        assert rules.why_not_reviewable(completed=True, completed_at=NOW, reviewed=False, now=NOW + after) is refusal

    def test_not_completed_then_reviewed_then_too_late_in_that_order(self):
        late = NOW + timedelta(days=40)
        assert rules.why_not_reviewable(completed=False, completed_at=None, reviewed=False, now=NOW) is NotReviewable
        assert rules.why_not_reviewable(completed=True, completed_at=NOW, reviewed=True, now=late) is ReviewExists
        assert (
            rules.why_not_reviewable(completed=True, completed_at=NOW, reviewed=False, now=late) is ReviewWindowClosed
        )


class TestTotals:
    def test_a_review_counts_its_stars_and_tags_and_leaves_them_again(self):
        one = rules.Totals().plus(5, ["耐心细致", "解释清楚"])
        two = one.plus(3, ["耐心细致"])
        assert two == rules.Totals(2, 8, {"耐心细致": 2, "解释清楚": 1})
        assert two.minus(5, ["耐心细致", "解释清楚"]) == rules.Totals(1, 3, {"耐心细致": 1})
        assert two.minus(5, ["耐心细致", "解释清楚"]).minus(3, ["耐心细致"]) == rules.Totals()

    def test_never_below_zero(self):
        assert rules.Totals().minus(4, ["沟通不足"]) == rules.Totals()

    def test_the_totals_given_are_not_changed(self):
        kept = {"耐心细致": 1}
        rules.Totals(1, 5, kept).plus(4, ["耐心细致"])
        assert kept == {"耐心细致": 1}
