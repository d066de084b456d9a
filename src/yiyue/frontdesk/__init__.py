"""The front desk (医院前台与诊室): staff views of appointments, check-in (签到), completion, 停诊, no-shows
(爽约) and the bans they bring."""
