"""What reviews answer when they cannot do what was asked: stable codes, Chinese messages."""

from __future__ import annotations

from yiyue.core.errors import Conflict, InvalidInput, NotFound


class NotReviewable(Conflict):
    code = "NOT_REVIEWABLE"
    message = "完成就诊后才能评价"


class ReviewExists(Conflict):
    code = "REVIEW_EXISTS"
    message = "该次就诊已评价过"


class ReviewWindowClosed(Conflict):
    code = "REVIEW_WINDOW_CLOSED"
    message = "已超过评价期限（就诊完成后30天内可评价）"


class ReviewTextRejected(InvalidInput):
    """The text carries personal data (a phone or ID number, an e-mail or a link) or abuse; ``detail``
    says which (``{"reason": "phone" | "id_number" | "contact" | "abuse"}``)."""

    code = "REVIEW_TEXT_REJECTED"
    message = "评价内容不符合规范，请修改后再提交"


class ReviewTextTooLong(InvalidInput):
    code = "REVIEW_TEXT_TOO_LONG"
    message = "评价内容不能超过300个字"


class UnknownReviewTag(InvalidInput):
    code = "UNKNOWN_REVIEW_TAG"
    message = "请从给出的标签中选择"


class InvalidStars(InvalidInput):
    code = "INVALID_STARS"
    message = "请选择1到5颗星"


class ReviewNotFound(NotFound):
    code = "REVIEW_NOT_FOUND"
    message = "评价不存在"


class ReviewAlreadyHidden(Conflict):
    code = "REVIEW_ALREADY_HIDDEN"
    message = "该评价已隐藏"


class ReviewNotHidden(Conflict):
    code = "REVIEW_NOT_HIDDEN"
    message = "该评价未被隐藏"
