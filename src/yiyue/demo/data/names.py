"""What doctors' names are drawn from: weighted surnames and given-name characters."""

# Surnames by rough frequency; the weights only need to look right in a list of names.
SURNAME_WEIGHTS: dict[str, int] = {
    "王李张": 70,
    "刘陈": 50,
    "杨黄赵吴周": 25,
    "徐孙马朱胡郭": 15,
    "何林罗高郑梁谢": 10,
    "宋唐许韩冯邓曹彭曾肖田董": 6,
    "潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢钟姜崔陆": 4,
    "范汪廖石金贾夏方邹熊白孟秦江顾": 2,
}

# Given-name characters; a two-character given name may start with a GIVEN_LEAD one.
GIVEN_MALE = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊旭宁峰建国志文东海振立永新庆德成亮毅晨昊博彬"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞燕玲婷雪慧琳颖倩洁佳丹萍红梅琴蕾晶莉璐瑶欣怡云月薇岚秀英"
GIVEN_LEAD = "晓文建志春秋海雅思子嘉一国立永小俊丽淑"
